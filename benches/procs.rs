//! The processes under test: the release `idbridge` gateway, the backend simulators, nginx and
//! redis-server. Each is stopped when its handle drops, so a failed run leaves nothing listening
//! behind. Shared by the load benchmark and the reliability runs (chaos, soak).

use std::io::{BufRead, BufReader, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};

/// A child process, stopped with SIGTERM (nginx's master takes its workers down with it).
#[derive(Debug)]
pub struct Proc {
    name: &'static str,
    child: Child,
}

impl Proc {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory of the process now, from `/proc`.
    pub fn rss_bytes(&self) -> anyhow::Result<u64> {
        rss_of(&format!("/proc/{}/status", self.pid()))
    }

    /// Open file descriptors of the process now (entries of `/proc/PID/fd`).
    pub fn open_fds(&self) -> anyhow::Result<usize> {
        Ok(std::fs::read_dir(format!("/proc/{}/fd", self.pid()))?.count())
    }

    /// Sends `signal` (a name `kill` knows: STOP, CONT, KILL, …) to the process.
    pub fn signal(&self, signal: &str) -> anyhow::Result<()> {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status()?;
        ensure!(status.success(), "kill -{signal} {} failed", self.pid());
        Ok(())
    }

    /// How the process ended, if it has.
    pub fn exit_status(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Kills the process at once (SIGKILL: no shutdown, as in a crash) and reaps it.
    pub fn crash(mut self) -> anyhow::Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        // A stopped process would not act on SIGTERM.
        let _ = Command::new("kill")
            .args(["-CONT", &self.child.id().to_string()])
            .status();
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        eprintln!("{} did not stop on SIGTERM; killing it", self.name);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `VmRSS` from a `/proc/*/status` file, in bytes.
pub fn rss_of(status_file: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(status_file)?;
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .context("no VmRSS line")?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse::<u64>()?;
    Ok(kib * 1024)
}

/// CPU time (user + system) used so far by `pids` and their child processes (nginx's workers),
/// in clock ticks of `ticks_per_second()`.
pub fn cpu_ticks(pids: &[u32]) -> u64 {
    let stats: Vec<(u32, u32, u64)> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter_map(|stat| {
            // "pid (comm) state ppid … utime stime …": comm may hold spaces, so split after ')'.
            let (head, rest) = stat.rsplit_once(')')?;
            let pid = head.split_whitespace().next()?.parse().ok()?;
            let f: Vec<&str> = rest.split_whitespace().collect();
            let ppid = f.get(1)?.parse().ok()?;
            let ticks = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
            Some((pid, ppid, ticks))
        })
        .collect();
    stats
        .iter()
        .filter(|(pid, ppid, _)| pids.contains(pid) || pids.contains(ppid))
        .map(|(_, _, t)| t)
        .sum()
}

/// The kernel's clock tick rate for `/proc/*/stat` times.
pub fn ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok()?.trim().parse().ok())
        .unwrap_or(100.0)
}

/// The running gateway and where it listens.
#[derive(Debug)]
pub struct Gateway {
    pub proc: Proc,
    pub base: String,
    pub admin: String,
    /// The TLS listener (`https://localhost:P`), serving `tls`'s server certificate.
    pub tls: String,
}

/// Starts `idbridge run` on ephemeral ports in front of the two simulators, with `env` on top of
/// its configuration (`IDBRIDGE__SECTION__KEY`). Its configuration and logs (JSON, one access line
/// per request, as in production) are in `dir`, `gateway.toml` and `gateway.log`. Ready when it
/// prints its addresses: the listeners are bound before that line.
pub fn gateway(
    binary: &Path,
    repo: &Path,
    dir: &Path,
    tls: &Path,
    enos: SocketAddr,
    netid: SocketAddr,
    env: &[(&str, String)],
) -> anyhow::Result<Gateway> {
    std::fs::create_dir_all(dir)?;
    let config = dir.join("gateway.toml");
    let (cert, key) = (
        tls.join("server.pem").display().to_string(),
        tls.join("server-key.pem").display().to_string(),
    );
    std::fs::write(
        &config,
        format!(
            r#"[server]
listen = "127.0.0.1:0"
admin_listen = "127.0.0.1:0"

[server.tls]
listen = "127.0.0.1:0"
cert_file = "{cert}"
key_file = "{key}"

[backends.enos]
url = "http://{enos}"

[backends.netid]
url = "http://{netid}"

[log]
format = "json"
level = "info"
"#
        ),
    )?;
    // Appended: a restarted gateway (the reliability runs crash and restart them) keeps the log
    // of the one before.
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("gateway.log"))?;
    let mut child = Command::new(binary)
        .arg("run")
        .arg("--config")
        .arg(&config)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .current_dir(repo)
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .with_context(|| format!("starting {}", binary.display()))?;
    let stdout = child.stdout.take().context("gateway stdout")?;
    let proc = Proc {
        name: "idbridge",
        child,
    };
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    // "idbridge gateway on http://127.0.0.1:P, tls on https://localhost:T, admin on http://…:Q"
    let urls: Vec<&str> = line
        .split_whitespace()
        .filter(|w| w.starts_with("http"))
        .map(|w| w.trim_end_matches(','))
        .collect();
    let [base, tls, admin] = urls.as_slice() else {
        bail!(
            "the gateway did not start (see {}): {line:?}",
            dir.join("gateway.log").display()
        );
    };
    Ok(Gateway {
        base: (*base).to_owned(),
        tls: (*tls).to_owned(),
        admin: (*admin).to_owned(),
        proc,
    })
}

/// The bare Pingora proxy (`idbridge-bare-proxy`, beside `idbridge` in the same target
/// directory) on a free port in front of `upstream`, answering `/session-info.json` itself with
/// `static_body`; its log goes to `dir/bare.log`.
pub fn bare_proxy(
    idbridge: &Path,
    dir: &Path,
    upstream: SocketAddr,
    static_body: &[u8],
) -> anyhow::Result<(Proc, String)> {
    let binary = idbridge.with_file_name("idbridge-bare-proxy");
    let port = free_port()?;
    let body = dir.join("bare-session-info.json");
    std::fs::write(&body, static_body)?;
    let child = Command::new(&binary)
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--upstream")
        .arg(upstream.to_string())
        .arg("--body")
        .arg(&body)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("bare.log"))?)
        .spawn()
        .with_context(|| format!("starting {} (make bench builds it)", binary.display()))?;
    let proc = Proc {
        name: "idbridge-bare-proxy",
        child,
    };
    wait_listening(([127, 0, 0, 1], port).into(), Duration::from_secs(10))
        .context("the bare Pingora proxy did not start listening")?;
    Ok((proc, format!("http://127.0.0.1:{port}")))
}

/// nginx as people deploy it in front of a backend: `proxy_pass` to an upstream with keep-alive,
/// access log on, one worker per core (as idbridge runs one runtime thread per core). It also
/// serves `static_body` at `/session-info.json`.
#[derive(Debug)]
pub struct Nginx {
    pub proc: Proc,
    pub base: String,
    /// The same `proxy_pass`, behind TLS with `tls`'s server certificate.
    pub tls: String,
    /// The same `proxy_pass` with `access_log off`.
    pub quiet: String,
}

pub fn nginx(
    dir: &Path,
    tls: &Path,
    upstream: SocketAddr,
    static_body: &[u8],
) -> anyhow::Result<Nginx> {
    let root = dir.join("nginx");
    let www = root.join("www");
    std::fs::create_dir_all(&www)?;
    std::fs::write(www.join("session-info.json"), static_body)?;
    let port = free_port()?;
    let tls_port = free_port()?;
    let quiet_port = free_port()?;
    let (cert, key) = (
        tls.join("server.pem").display().to_string(),
        tls.join("server-key.pem").display().to_string(),
    );
    let d = root.display();
    let conf = format!(
        r#"worker_processes auto;
error_log {d}/error.log warn;
pid {d}/nginx.pid;
events {{ worker_connections 4096; }}
http {{
    access_log {d}/access.log;
    client_body_temp_path {d}/client_body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    upstream backend {{
        server {upstream};
        keepalive 256;
    }}
    server {{
        listen 127.0.0.1:{port};
        location = /session-info.json {{
            root {d}/www;
            default_type application/json;
        }}
        location / {{
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
    server {{
        listen 127.0.0.1:{quiet_port};
        access_log off;
        location / {{
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
    server {{
        listen 127.0.0.1:{tls_port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.2 TLSv1.3;
        location / {{
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
}}
"#
    );
    let conf_path = root.join("nginx.conf");
    std::fs::write(&conf_path, conf)?;
    // nginx workers drop root; they must read the static file.
    Command::new("chmod")
        .args(["-R", "a+rX"])
        .arg(dir)
        .status()?;
    let child = Command::new("nginx")
        .arg("-p")
        .arg(&root)
        .arg("-c")
        .arg(&conf_path)
        .args(["-g", "daemon off;"])
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting nginx (make bench installs it)")?;
    let proc = Proc {
        name: "nginx",
        child,
    };
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    wait_listening(addr, Duration::from_secs(10)).context("nginx did not start listening")?;
    wait_listening(([127, 0, 0, 1], tls_port).into(), Duration::from_secs(10))
        .context("nginx did not start listening with TLS")?;
    Ok(Nginx {
        proc,
        base: format!("http://{addr}"),
        tls: format!("https://localhost:{tls_port}"),
        quiet: format!("http://127.0.0.1:{quiet_port}"),
    })
}

/// A redis-server of the benchmark's own: loopback only, no persistence, on a free port.
#[derive(Debug)]
pub struct Redis {
    pub proc: Proc,
    /// `redis://127.0.0.1:P`
    pub url: String,
}

/// Starts redis-server with its data directory and log (`redis.log`) in `dir`. Ready when it
/// says it accepts connections.
pub fn redis(dir: &Path) -> anyhow::Result<Redis> {
    redis_on(dir, free_port()?)
}

/// Starts redis-server on `port` (a restart on the port an earlier one had), empty: with no
/// persistence, what the earlier one held is gone, as after a crash of a cache-only Redis.
pub fn redis_on(dir: &Path, port: u16) -> anyhow::Result<Redis> {
    std::fs::create_dir_all(dir)?;
    let mut child = Command::new("redis-server")
        .args(["--save", "", "--appendonly", "no", "--bind", "127.0.0.1"])
        .arg("--port")
        .arg(port.to_string())
        .arg("--dir")
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting redis-server (make deps installs it)")?;
    let stdout = child.stdout.take().context("redis-server stdout")?;
    let proc = Proc {
        name: "redis-server",
        child,
    };
    // The log is read to its end, into the file: a pipe nobody reads would stall the server.
    let log_path = dir.join("redis.log");
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)?;
    let (ready, started) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = writeln!(log, "{line}");
            if line.contains("Ready to accept connections") {
                let _ = ready.send(());
            }
        }
    });
    // An early exit (the port taken meanwhile) ends the reader and this wait with it.
    started
        .recv_timeout(Duration::from_secs(10))
        .map_err(|_| anyhow::anyhow!("redis-server did not start: see {}", log_path.display()))?;
    Ok(Redis {
        proc,
        url: format!("redis://127.0.0.1:{port}"),
    })
}

/// The two backend simulators of one `idbridge sim` process.
#[derive(Debug)]
pub struct Sims {
    pub proc: Proc,
    pub enos: SocketAddr,
    pub netid: SocketAddr,
}

/// Starts `idbridge sim` with its EnOS simulator on `enos` and its Net iD simulator on `netid`
/// (port 0: any free one), logging to `log` (appended). Ready when it prints both addresses.
pub fn sims(
    binary: &Path,
    repo: &Path,
    log: &Path,
    enos: SocketAddr,
    netid: SocketAddr,
) -> anyhow::Result<Sims> {
    let log_file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)?;
    let mut child = Command::new(binary)
        .args([
            "sim",
            "--enos",
            &enos.to_string(),
            "--netid",
            &netid.to_string(),
        ])
        .current_dir(repo)
        .stdout(Stdio::piped())
        .stderr(log_file)
        .spawn()
        .with_context(|| format!("starting {} sim", binary.display()))?;
    let stdout = child.stdout.take().context("simulator stdout")?;
    let proc = Proc {
        name: "idbridge sim",
        child,
    };
    // "EnOS IAM simulator       http://127.0.0.1:P", then the Net iD line.
    let mut lines = BufReader::new(stdout).lines();
    let mut addr = |what: &str| -> anyhow::Result<SocketAddr> {
        let line = lines
            .next()
            .transpose()?
            .with_context(|| format!("the simulators did not start (see {})", log.display()))?;
        ensure!(line.starts_with(what), "unexpected simulator line {line:?}");
        let url = line.rsplit(' ').next().unwrap_or_default();
        url.trim_start_matches("http://")
            .parse()
            .with_context(|| format!("no address in {line:?}"))
    };
    let (enos, netid) = (addr("EnOS")?, addr("Net iD")?);
    // The last line it prints ("Stats: …"): read, so that closing the pipe cannot fail a write.
    let _ = lines.next();
    Ok(Sims { proc, enos, netid })
}

/// The project's demo PKI (CA, server and client certificates), made in `dir` by
/// `scripts/make-tls-certs.sh`.
pub fn tls_certs(repo: &Path, dir: &Path) -> anyhow::Result<()> {
    let made = Command::new("bash")
        .arg(repo.join("scripts/make-tls-certs.sh"))
        .arg(dir)
        .output()?;
    ensure!(
        made.status.success(),
        "making the TLS certificates failed: {made:?}"
    );
    Ok(())
}

/// A token key directory `dir` holding one new Ed25519 signing key, made by openssl.
pub fn token_keys(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let made = Command::new("openssl")
        .args(["genpkey", "-algorithm", "ed25519", "-out"])
        .arg(dir.join("signing.pem"))
        .output()
        .context("running openssl (make deps installs it)")?;
    ensure!(
        made.status.success(),
        "making the token key failed: {made:?}"
    );
    Ok(())
}

/// A port nothing listens on now. nginx (or redis-server) binds it itself a moment later; another
/// process taking it in between would make it fail to start, loudly, never measure the wrong
/// thing.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn wait_listening(addr: SocketAddr, limit: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + limit;
    loop {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("nothing listening on {addr} after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The workspace root (this crate lives in `benches/`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}
