//! A real `redis-server` per test: its own ephemeral port, no persistence, nothing on disk but an
//! empty temporary working directory, killed when the test ends. Ready means the server said so
//! on its log, not a sleep.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub struct Redis {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
    /// TLS only, with this PKI's server certificate (scripts/make-tls-certs.sh).
    tls: Option<std::path::PathBuf>,
}

/// Whether this machine can run the Redis tests (required under `make test`).
pub fn available() -> bool {
    crate::common::tool_available("redis-server", &["--version"])
}

impl Redis {
    pub fn start() -> Redis {
        Self::start_with(None)
    }

    /// A server that speaks TLS only, with `pki`'s server certificate for 127.0.0.1.
    pub fn start_tls(pki: &std::path::Path) -> Redis {
        Self::start_with(Some(pki.to_path_buf()))
    }

    fn start_with(tls: Option<std::path::PathBuf>) -> Redis {
        let dir = tempfile::tempdir().unwrap();
        for _ in 0..10 {
            // A free port now; another process may take it before Redis binds, then try again.
            let port = free_port();
            if let Some(child) = spawn(port, dir.path(), tls.as_deref()) {
                return Redis {
                    child: Some(child),
                    port,
                    dir,
                    tls,
                };
            }
        }
        panic!("redis-server did not start on any of 10 free ports");
    }

    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() {
            "rediss"
        } else {
            "redis"
        };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// Kills the server at once (SIGKILL): what a crash looks like to its clients.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again, empty, on the same port.
    pub fn restart(&mut self) {
        self.kill();
        for _ in 0..50 {
            if let Some(child) = spawn(self.port, self.dir.path(), self.tls.as_deref()) {
                self.child = Some(child);
                return;
            }
            // The old socket may linger a moment; Redis itself reports the bind failure.
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("redis-server did not restart on port {}", self.port);
    }

    /// `redis-cli` against this server; its output.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = Command::new("redis-cli")
            .args(["-p", &self.port.to_string()])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A Redis Cluster of three masters (no replicas), each on its own free port, slots assigned by
/// `redis-cli --cluster create`; ready once every node says the cluster state is ok.
pub struct Cluster {
    nodes: Vec<Child>,
    ports: Vec<u16>,
    _dir: tempfile::TempDir,
}

impl Cluster {
    pub fn start() -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let mut nodes = Vec::new();
        let mut ports = Vec::new();
        while nodes.len() < 3 {
            let port = free_port();
            let node_dir = dir.path().join(port.to_string());
            std::fs::create_dir_all(&node_dir).unwrap();
            let mut command = Command::new("redis-server");
            command
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--cluster-enabled", "yes", "--cluster-config-file"])
                .arg(node_dir.join("nodes.conf"))
                .args(["--save", "", "--appendonly", "no", "--protected-mode", "no"])
                .arg("--dir")
                .arg(&node_dir);
            if let Some(child) = ready(command, "Ready to accept connections") {
                nodes.push(child);
                ports.push(port);
            }
        }
        let addrs: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
        let out = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addrs)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        let cluster = Cluster {
            nodes,
            ports,
            _dir: dir,
        };
        // Slots are assigned; each node learns of the others by gossip. Poll until all agree.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while !cluster.ports.iter().all(|p| {
            cluster
                .cli(*p, &["CLUSTER", "INFO"])
                .contains("cluster_state:ok")
        }) {
            assert!(
                std::time::Instant::now() < deadline,
                "cluster never became ok"
            );
            std::thread::yield_now();
        }
        cluster
    }

    /// The gateway's URL: one node, the others by `node=`.
    pub fn url(&self) -> String {
        let others: Vec<String> = self.ports[1..]
            .iter()
            .map(|p| format!("node=127.0.0.1:{p}"))
            .collect();
        format!(
            "redis-cluster://127.0.0.1:{}?{}",
            self.ports[0],
            others.join("&")
        )
    }

    /// The keys on each node.
    pub fn keys(&self) -> Vec<String> {
        self.ports
            .iter()
            .map(|p| self.cli(*p, &["--scan"]))
            .collect()
    }

    fn cli(&self, port: u16, args: &[&str]) -> String {
        let out = Command::new("redis-cli")
            .args(["-p", &port.to_string()])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            let _ = node.kill();
            let _ = node.wait();
        }
    }
}

/// A Redis Sentinel watching a [`Redis`] as `mymaster`, on its own free port. Its configuration
/// file (Sentinel rewrites it) lives in a temporary directory.
pub struct Sentinel {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Sentinel {
    pub fn start(master: &Redis) -> Sentinel {
        let dir = tempfile::tempdir().unwrap();
        for _ in 0..10 {
            let port = free_port();
            let conf = dir.path().join("sentinel.conf");
            std::fs::write(
                &conf,
                format!(
                    "port {port}\nbind 127.0.0.1\nprotected-mode no\ndir {}\n\
                     sentinel monitor mymaster 127.0.0.1 {} 1\n",
                    dir.path().display(),
                    master.port
                ),
            )
            .unwrap();
            let mut command = Command::new("redis-server");
            command.arg(&conf).arg("--sentinel");
            if let Some(child) = ready(command, "+monitor master mymaster") {
                return Sentinel {
                    child,
                    port,
                    _dir: dir,
                };
            }
        }
        panic!("redis-server --sentinel did not start on any of 10 free ports");
    }

    /// The URL the gateway is given: the Sentinel, which names the master.
    pub fn url(&self) -> String {
        format!(
            "redis-sentinel://127.0.0.1:{}?sentinelServiceName=mymaster",
            self.port
        )
    }
}

impl Drop for Sentinel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port free now; another process may take it before the server binds it, and the callers
/// then try another.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A server on `port`, once it says it is ready; `None` when it exits first (port taken).
fn spawn(port: u16, dir: &std::path::Path, tls: Option<&std::path::Path>) -> Option<Child> {
    let mut command = Command::new("redis-server");
    match tls {
        None => command.args(["--port", &port.to_string()]),
        Some(pki) => command
            .args(["--port", "0", "--tls-port", &port.to_string()])
            .args(["--tls-auth-clients", "no"])
            .arg("--tls-cert-file")
            .arg(pki.join("server.pem"))
            .arg("--tls-key-file")
            .arg(pki.join("server-key.pem"))
            .arg("--tls-ca-cert-file")
            .arg(pki.join("ca.pem")),
    };
    command
        .args(["--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no", "--protected-mode", "no"])
        .arg("--dir")
        .arg(dir);
    ready(command, "Ready to accept connections")
}

/// `command` (a redis-server) started with its log on stdout, once a line of it contains
/// `marker`; `None` when it exits or stays silent first.
fn ready(mut command: Command, marker: &'static str) -> Option<Child> {
    let mut child = command
        .args(["--logfile", ""])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains(marker) {
                let _ = tx.send(());
            }
        }
    });
    match rx.recv_timeout(Duration::from_secs(20)) {
        Ok(()) => Some(child),
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            None
        }
    }
}
