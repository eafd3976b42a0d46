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
            let port = TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
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
    let mut child = command
        .args(["--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no", "--protected-mode", "no"])
        .arg("--dir")
        .arg(dir)
        .args(["--logfile", ""])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains("Ready to accept connections") {
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
