//! `idbridge-load`: the load benchmark behind `make bench`.
//!
//! In one run on one machine it measures, with wrk over loopback:
//! - (a) the EnOS simulator directly, (b) nginx `proxy_pass` to it, (c) idbridge passing the same
//!   call through (EnOS `organization/info`, which idbridge does not intercept);
//! - (d) idbridge answering EnOS `session/info` from its cache, (e) the same for Net iD
//!   GetLoginStatus over REST and over SOAP, and (f) nginx serving the bytes of (d) as a static
//!   file, the ceiling for one HTTP hop on loopback;
//!
//! - two replicas sharing sessions through Redis ([`replicas`]): a lookup answered from replica
//!   A's memory (r-l1) and one answered from Redis by replica B (r-l2), and how long a logout on
//!   one replica takes to reach the other (`--skip-replicas` leaves them out, `--replicas-only`
//!   runs nothing else);
//!
//! then resident memory per cached session at a million sessions, and how many upstream calls
//! 1000 concurrent misses for one session make. It writes `benches/RESULTS.md`: the machine, the
//! command, the table and the targets, above a hand-written analysis that is kept across runs.
//!
//! Scenarios run in rounds (a b c d e f r-l1 r-l2, a b c …) and each is reported by its median
//! round, so a slow minute on a shared machine lands in every scenario alike rather than in one.

/// The allocator the `idbridge` binary uses, so the memory measurement (made in this binary)
/// counts what the gateway would hold.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod calls;
mod memory;
mod replicas;
mod report;
mod wrk;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use clap::{Parser, Subcommand};
use idbridge_session::Backend;
use idbridge_sim::{SimOptions, Simulator};
use serde_json::{Value, json};

use idbridge_benches::{kernel, procs};

use crate::calls::{cache_metrics, enos_login, netid_login, post, soap_status};
use crate::report::{Coalescing, Report, Row, delta};
use crate::wrk::{Call, Counted, Load, Measured};

const DEMO_PRINCIPAL: &str = "portal_test01";
const DEMO_PASSWORD: &str = "Demo-Passw0rd";
const NETID_NS: &str = "http://www.pointsharp.com/netid/server/portal";

#[derive(Debug, Parser)]
#[command(
    name = "idbridge-load",
    about = "Load benchmark: idbridge against nginx (make bench)"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
    /// The gateway binary to measure (a release build).
    #[arg(long, default_value = "target/release/idbridge")]
    idbridge: PathBuf,
    /// Length of each measured wrk run.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Rounds over every scenario; each scenario is reported by its median round.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Open connections per wrk run.
    #[arg(long, default_value_t = 64)]
    connections: u32,
    /// wrk threads.
    #[arg(long, default_value_t = 2)]
    threads: u32,
    /// Sessions cached for the memory measurement.
    #[arg(long, default_value_t = 1_000_000)]
    sessions: u64,
    /// Concurrent misses for one session in the coalescing check.
    #[arg(long, default_value_t = 1000)]
    misses: usize,
    /// Leave out the two replicas sharing Redis (r-l1, r-l2, revocation propagation).
    #[arg(long)]
    skip_replicas: bool,
    /// Only the two replicas: no single-process rows, coalescing check or memory measurement.
    #[arg(long, conflicts_with = "skip_replicas")]
    replicas_only: bool,
    /// Logouts timed until the other replica refuses the session.
    #[arg(long, default_value_t = 200)]
    revocations: usize,
    /// Where the report goes.
    #[arg(long, default_value = "benches/RESULTS.md")]
    out: PathBuf,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// (internal) Measure memory per cached session in this process; prints JSON.
    Memory {
        #[arg(long)]
        backend: String,
        #[arg(long)]
        sessions: u64,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Some(Cmd::Memory { backend, sessions }) = &cli.command {
        let backend = match backend.as_str() {
            "enos" => Backend::ENOS,
            "netid" => Backend::NETID,
            other => bail!("unknown backend {other:?}"),
        };
        println!("{}", memory::measure(backend, *sessions)?);
        return Ok(());
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(bench(cli))
}

/// One scenario of the table.
struct Scenario {
    key: &'static str,
    what: &'static str,
    call: Call,
    /// The processes whose CPU time counts as the server's (the proxy only, not its backend).
    server: Vec<u32>,
}

async fn bench(cli: Cli) -> anyhow::Result<()> {
    let repo = procs::repo_root();
    let binary = repo.join(&cli.idbridge);
    ensure!(
        binary.is_file(),
        "{} is missing: build it with `cargo build --release -p idbridge` (make bench does)",
        binary.display()
    );
    let work = tempfile_dir()?;
    let dir = work.path().to_path_buf();
    let load = Load {
        threads: cli.threads,
        connections: cli.connections,
        duration: cli.duration,
    };

    let any = "127.0.0.1:0".parse()?;
    let opts = SimOptions::default();
    let enos = Simulator::start_enos(any, &opts).await?;
    let netid = Simulator::start_netid(any, &opts).await?;
    // One certificate for both TLS servers, made by the project's script.
    let tls = dir.join("tls");
    procs::tls_certs(&repo, &tls)?;
    let gateway = procs::gateway(
        &binary,
        &repo,
        &dir,
        &tls,
        enos.local_addr(),
        netid.local_addr(),
        &[],
    )?;
    eprintln!("gateway on {} (pid {})", gateway.base, gateway.proc.pid());
    let ca = reqwest::Certificate::from_pem(&std::fs::read(tls.join("ca.pem"))?)?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .add_root_certificate(ca)
        .build()?;

    // Sessions established through the gateway, so it has them cached.
    let enos_id = enos_login(&http, &gateway.base).await?;
    let netid_id = netid_login(&http, &gateway.base, &repo).await?;
    let enos_auth = format!("Bearer {enos_id}");
    let info = post(
        &http,
        &format!("{}/enos-iam-service/v2.0/session/info", gateway.base),
        &[("Authorization", enos_auth.as_str())],
        "{}",
    )
    .await?;
    let org = serde_json::from_slice::<Value>(&info)?["session"]["workingOrganization"]["id"]
        .as_str()
        .context("session/info without workingOrganization.id")?
        .to_owned();
    let nginx = procs::nginx(&dir, &tls, enos.local_addr(), &info)?;
    eprintln!("nginx on {} (pid {})", nginx.base, nginx.proc.pid());
    let bare = procs::bare_proxy(&binary, &dir, enos.local_addr(), &info)?;
    eprintln!("bare Pingora proxy on {} (pid {})", bare.1, bare.0.pid());

    // Net iD sessions for the status scenarios: a session is reused only once its call is
    // answered, so its Counts arrive in order (see `wrk::Counted`).
    let mut netid_ids = Vec::new();
    for _ in 0..4 * load.connections {
        netid_ids.push(netid_login(&http, &gateway.base, &repo).await?);
    }
    let setup = replicas::Setup {
        binary: &binary,
        repo: &repo,
        dir: &dir,
        tls: &tls,
        enos: enos.local_addr(),
        netid: netid.local_addr(),
    };
    let mut replicas = if cli.skip_replicas {
        None
    } else {
        Some(replicas::Replicas::start(&setup, &http).await?)
    };
    let json_post = |url: String, auth: Option<&str>, body: String| Call {
        method: "POST",
        url,
        headers: [("Content-Type", "application/json".to_owned())]
            .into_iter()
            .chain(auth.map(|a| ("Authorization", a.to_owned())))
            .collect(),
        body,
        counted: None,
        cycled: None,
    };
    let org_info = "/enos-iam-service/v2.0/organization/info";
    let org_body = json!({ "id": org }).to_string();
    let mut scenarios = vec![
        Scenario {
            key: "a",
            what: "simulator directly (EnOS organization/info)",
            server: vec![std::process::id()],
            call: json_post(
                format!("{}{org_info}", enos.base_url()),
                Some(&enos_auth),
                org_body.clone(),
            ),
        },
        Scenario {
            key: "b",
            what: "nginx proxy_pass → simulator",
            server: vec![nginx.proc.pid()],
            call: json_post(
                format!("{}{org_info}", nginx.base),
                Some(&enos_auth),
                org_body.clone(),
            ),
        },
        Scenario {
            key: "b-nolog",
            what: "nginx proxy_pass → simulator, access log off",
            server: vec![nginx.proc.pid()],
            call: json_post(
                format!("{}{org_info}", nginx.quiet),
                Some(&enos_auth),
                org_body.clone(),
            ),
        },
        Scenario {
            key: "p",
            what: "bare Pingora proxy (same Pingora and runtime as idbridge) → simulator",
            server: vec![bare.0.pid()],
            call: json_post(
                format!("{}{org_info}", bare.1),
                Some(&enos_auth),
                org_body.clone(),
            ),
        },
        Scenario {
            key: "c",
            what: "idbridge pass-through → simulator",
            server: vec![gateway.proc.pid()],
            call: json_post(
                format!("{}{org_info}", gateway.base),
                Some(&enos_auth),
                org_body.clone(),
            ),
        },
        Scenario {
            key: "b-tls",
            what: "nginx TLS (ssl + proxy_pass) → simulator",
            server: vec![nginx.proc.pid()],
            call: json_post(
                format!("{}{org_info}", nginx.tls),
                Some(&enos_auth),
                org_body.clone(),
            ),
        },
        Scenario {
            key: "c-tls",
            what: "idbridge TLS termination and pass-through → simulator",
            server: vec![gateway.proc.pid()],
            call: json_post(
                format!("{}{org_info}", gateway.tls),
                Some(&enos_auth),
                org_body,
            ),
        },
        Scenario {
            key: "d",
            what: "idbridge cache hit: EnOS session/info",
            server: vec![gateway.proc.pid()],
            call: json_post(
                format!("{}/enos-iam-service/v2.0/session/info", gateway.base),
                Some(&enos_auth),
                "{}".into(),
            ),
        },
        Scenario {
            key: "e-rest",
            what: "idbridge cache hit: Net iD GetLoginStatus, REST",
            server: vec![gateway.proc.pid()],
            call: Call {
                counted: Some(Counted {
                    sessions: netid_ids.clone(),
                    before: r#"{"SessionId":""#.into(),
                    between: r#"","Count":""#.into(),
                    after: r#""}"#.into(),
                }),
                ..json_post(
                    format!("{}/api/login/status/get", gateway.base),
                    None,
                    json!({ "SessionId": netid_id, "Count": "1" }).to_string(),
                )
            },
        },
        Scenario {
            key: "e-soap",
            what: "idbridge cache hit: Net iD GetLoginStatus, SOAP",
            server: vec![gateway.proc.pid()],
            call: Call {
                method: "POST",
                url: format!("{}/portal/service.svc", gateway.base),
                headers: vec![
                    ("Content-Type", "text/xml; charset=\"utf-8\"".into()),
                    (
                        "SOAPAction",
                        format!("\"{NETID_NS}/IServiceSoap/GetLoginStatus\""),
                    ),
                ],
                // The REST check sent Count 1 for this session.
                body: soap_status(&netid_id, "2"),
                counted: {
                    let t = soap_status("{session}", "{count}");
                    let (before, rest) = t.split_once("{session}").context("template")?;
                    let (between, after) = rest.split_once("{count}").context("template")?;
                    Some(Counted {
                        sessions: netid_ids,
                        before: before.into(),
                        between: between.into(),
                        after: after.into(),
                    })
                },
                cycled: None,
            },
        },
        Scenario {
            key: "p-hit",
            what: "bare Pingora answering the bytes of (d) itself (request_filter)",
            server: vec![bare.0.pid()],
            call: Call {
                method: "GET",
                url: format!("{}/session-info.json", bare.1),
                headers: Vec::new(),
                body: String::new(),
                counted: None,
                cycled: None,
            },
        },
        Scenario {
            key: "f",
            what: "nginx static file: the bytes of (d)",
            server: vec![nginx.proc.pid()],
            call: Call {
                method: "GET",
                url: format!("{}/session-info.json", nginx.base),
                headers: Vec::new(),
                body: String::new(),
                counted: None,
                cycled: None,
            },
        },
    ];
    if cli.replicas_only {
        scenarios.clear();
    }
    let single = scenarios.len();
    scenarios.extend(replicas.iter().flat_map(|r| r.scenarios()));

    // Every scenario must answer what it claims before it is timed: a fast error is no result.
    for s in &scenarios {
        check(&http, s, &info).await?;
    }
    let cache_before = cache_metrics(&http, &gateway.admin).await?;
    let upstream_before = enos.count("enos.session_info") + netid.count("netid.get_login_status");

    // Warm-up (connection pools, caches, CPU frequency), then the rounds.
    let warm = Load {
        duration: Duration::from_secs(2),
        ..load
    };
    // Each wrk run starts Net iD counts above every count an earlier run can have reached.
    let mut first_count = 0;
    let mut next_first = || {
        first_count += 1_000_000_000;
        first_count
    };
    for s in &scenarios {
        blocking_wrk(&s.call, warm, next_first(), &dir, s.key).await?;
    }
    if let Some(r) = &mut replicas {
        r.mark(&http).await?;
    }
    let tick = procs::ticks_per_second();
    let mut runs: Vec<Vec<Measured>> = vec![Vec::new(); scenarios.len()];
    for round in 1..=cli.rounds {
        for (i, s) in scenarios.iter().enumerate() {
            let counted = kernel::KernelCount::start(&s.server, &dir);
            let cpu_before = procs::cpu_ticks(&s.server);
            let mut m = blocking_wrk(&s.call, load, next_first(), &dir, s.key).await?;
            let cpu = procs::cpu_ticks(&s.server).saturating_sub(cpu_before) as f64 / tick;
            let per_request = |n: u64| n as f64 / m.requests.max(1) as f64;
            m.server_cpu_us = cpu * 1e6 / m.requests.max(1) as f64;
            // NaN when perf could not count: the report says "—".
            let (calls, switches) = counted
                .and_then(kernel::KernelCount::finish)
                .map_or((f64::NAN, f64::NAN), |(c, s)| {
                    (per_request(c), per_request(s))
                });
            m.server_syscalls = calls;
            m.server_switches = switches;
            eprintln!(
                "round {round} {:>6}: {:>9.0} req/s  p50 {:>8.3} ms  p99 {:>8.3} ms  \
                 server CPU {:>6.1} µs/req  {:.2} syscalls/req  {:.2} switches/req  errors {}",
                s.key,
                m.requests_per_sec,
                m.p50.as_secs_f64() * 1e3,
                m.p99.as_secs_f64() * 1e3,
                m.server_cpu_us,
                m.server_syscalls,
                m.server_switches,
                m.errors
            );
            runs[i].push(m);
        }
    }
    let cache_after = cache_metrics(&http, &gateway.admin).await?;
    let upstream_after = enos.count("enos.session_info") + netid.count("netid.get_login_status");
    let gateway_rss = gateway.proc.rss_bytes().ok();

    let mut rows = scenarios
        .iter()
        .zip(runs)
        .map(|(s, runs)| Row::from_runs(s.key, s.what, runs))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let replicas = match replicas {
        Some(r) => Some(
            r.finish(&http, rows.split_off(single), cli.revocations)
                .await?,
        ),
        None => None,
    };

    let coalescing = if cli.replicas_only {
        None
    } else {
        Some(coalescing(&http, &enos, &gateway, cli.misses).await?)
    };
    drop(nginx);
    drop(gateway);
    let memory = [Backend::ENOS, Backend::NETID]
        .into_iter()
        .filter(|_| !cli.replicas_only)
        .map(|b| memory::in_child(b, cli.sessions))
        .collect::<anyhow::Result<Vec<_>>>()?;

    let report = Report {
        command: std::env::args().collect::<Vec<_>>().join(" "),
        load,
        rounds: cli.rounds,
        rows,
        lookups_during_load: delta(&cache_before, &cache_after),
        upstream_calls_during_load: upstream_after.saturating_sub(upstream_before),
        gateway_rss,
        coalescing,
        memory,
        replicas,
    };
    let out = repo.join(&cli.out);
    report.write(&out)?;
    println!("{}", report.summary());
    println!("wrote {}", out.display());
    Ok(())
}

fn tempfile_dir() -> anyhow::Result<tempfile::TempDir> {
    Ok(tempfile::Builder::new()
        .prefix("idbridge-bench-")
        .tempdir()?)
}

async fn blocking_wrk(
    call: &Call,
    load: Load,
    first_count: u64,
    dir: &std::path::Path,
    name: &str,
) -> anyhow::Result<Measured> {
    let (call, dir, name) = (call.clone(), dir.to_owned(), name.to_owned());
    tokio::task::spawn_blocking(move || wrk::run(&call, load, first_count, &dir, &name)).await?
}

/// Sends a scenario's request once and checks the answer is the real thing.
async fn check(http: &reqwest::Client, s: &Scenario, info: &[u8]) -> anyhow::Result<()> {
    let mut req = match s.call.method {
        "GET" => http.get(&s.call.url),
        _ => http.post(&s.call.url).body(s.call.body.clone()),
    };
    for (name, value) in &s.call.headers {
        req = req.header(*name, value);
    }
    let resp = req.send().await?;
    let status = resp.status().as_u16();
    let body = resp.bytes().await?;
    let text = String::from_utf8_lossy(&body);
    let good = status == 200
        && match s.key {
            "e-soap" => text.contains("<IsLoggedIn>True</IsLoggedIn>"),
            "e-rest" => text.contains(r#""IsLoggedIn":"True""#),
            "f" => body.as_ref() == info,
            _ => text.contains(r#""success":true"#),
        };
    ensure!(good, "scenario {} answered {status}: {text}", s.key);
    Ok(())
}

/// 1000 concurrent status calls for one session the gateway has never seen, while the backend
/// takes a second to answer: how many calls reach the backend, and what the callers got.
async fn coalescing(
    http: &reqwest::Client,
    enos: &Simulator,
    gateway: &procs::Gateway,
    misses: usize,
) -> anyhow::Result<Coalescing> {
    // A session made at the simulator directly: not in the gateway's cache.
    let id = enos_login(http, &enos.base_url()).await?;
    let before = enos.count("enos.session_info");
    let metrics_before = cache_metrics(http, &gateway.admin).await?;
    enos.faults().set_delay(Duration::from_secs(1));
    // One client per call: 1000 connections, as 1000 separate callers would open.
    let url = Arc::new(format!(
        "{}/enos-iam-service/v2.0/session/info",
        gateway.base
    ));
    let auth = Arc::new(format!("Bearer {id}"));
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..misses {
        let (url, auth) = (url.clone(), auth.clone());
        calls.spawn(async move {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()?;
            let resp = client
                .post(url.as_str())
                .header("Authorization", auth.as_str())
                .header("Content-Type", "application/json")
                .body("{}")
                .send()
                .await?;
            let status = resp.status().as_u16();
            let v: Value = resp.json().await?;
            anyhow::Ok(status == 200 && v["success"] == json!(true))
        });
    }
    let mut ok = 0;
    while let Some(done) = calls.join_next().await {
        if done?? {
            ok += 1;
        }
    }
    enos.faults().clear();
    let metrics_after = cache_metrics(http, &gateway.admin).await?;
    Ok(Coalescing {
        callers: misses,
        answered_ok: ok,
        upstream_calls: enos.count("enos.session_info") - before,
        lookups: delta(&metrics_before, &metrics_after),
    })
}
