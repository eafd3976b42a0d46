#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The `idbridge` binary as operators use it: check-config, run with JSON logs, reload on SIGHUP.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use idbridge_sim::{SimOptions, Simulator};

const BIN: &str = env!("CARGO_BIN_EXE_idbridge");

fn write_config(file: &mut tempfile::NamedTempFile, max_body: usize) {
    let text = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\nadmin_listen = \"127.0.0.1:0\"\n[limits]\nmax_body_bytes = {max_body}\n[log]\nformat = \"json\"\n"
    );
    file.as_file().set_len(0).unwrap();
    std::fs::write(file.path(), text).unwrap();
}

#[test]
fn check_config_reports_every_problem_and_exits_64() {
    let mut bad = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    bad.write_all(
        b"[server]\nlisten = \"nowhere\"\n[cache]\nrevalidate_after = \"soon\"\ntypo = 1\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["check-config", "--config"])
        .arg(bad.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    let err = String::from_utf8_lossy(&out.stderr);
    for key in ["server.listen", "cache.revalidate_after", "cache.typo"] {
        assert!(
            err.contains(&format!("  {key}: ")),
            "{key} not reported:\n{err}"
        );
    }
    assert!(err.starts_with("3 configuration problems:"), "{err}");

    let env_bad = Command::new(BIN)
        .args(["check-config"])
        .env("IDBRIDGE__LIMITS__MAX_XML_DEPTH", "100000")
        .output()
        .unwrap();
    assert_eq!(
        env_bad.status.code(),
        Some(64),
        "environment overrides are validated too"
    );

    let good = Command::new(BIN)
        .args(["check-config", "--config", "../../config/idbridge.toml"])
        .output()
        .unwrap();
    assert!(
        good.status.success(),
        "{}",
        String::from_utf8_lossy(&good.stderr)
    );
}

struct Gateway {
    child: Child,
    url: String,
    /// The TLS listener's URL, when it has one.
    tls_url: Option<String>,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

fn spawn_gateway(config: &std::path::Path, enos: &str, netid: &str) -> Gateway {
    let mut child = Command::new(BIN)
        .args(["run", "--config"])
        .arg(config)
        .env("IDBRIDGE__BACKENDS__ENOS__URL", enos)
        .env("IDBRIDGE__BACKENDS__NETID__URL", netid)
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The first stdout line names the bound ports: the gateway is accepting once it is printed.
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let word = |scheme: &str| {
        line.split_whitespace()
            .find(|w| w.starts_with(scheme))
            .map(|w| w.trim_end_matches(',').to_owned())
    };
    let url = word("http://").unwrap();
    let tls_url = word("https://");
    Gateway {
        child,
        url,
        tls_url,
    }
}

fn sigterm_and_wait(mut gw: Gateway) -> (std::process::ExitStatus, String) {
    Command::new("kill")
        .args(["-TERM", &gw.child.id().to_string()])
        .status()
        .unwrap();
    let mut child = std::mem::replace(&mut gw.child, Command::new("true").spawn().unwrap());
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    (status, stderr)
}

#[tokio::test(flavor = "multi_thread")]
async fn run_reloads_on_sighup_and_logs_json() {
    let opts = SimOptions::default();
    let any = "127.0.0.1:0".parse().unwrap();
    let enos = Simulator::start_enos(any, &opts).await.unwrap();
    let netid = Simulator::start_netid(any, &opts).await.unwrap();
    let mut config = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    write_config(&mut config, 65536);
    let gw = spawn_gateway(config.path(), &enos.base_url(), &netid.base_url());

    let http = reqwest::Client::new();
    let login =
        serde_json::json!({"authType": 0, "principal": "x".repeat(2000), "credentials": "y"});
    let post = || {
        http.post(format!("{}/enos-iam-service/v2.0/login", gw.url))
            .json(&login)
            .send()
    };
    assert_eq!(post().await.unwrap().status(), 200);

    write_config(&mut config, 1024);
    Command::new("kill")
        .args(["-HUP", &gw.child.id().to_string()])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        // The same keep-alive client keeps working across the reload.
        if post().await.unwrap().status() == 413 {
            break;
        }
        assert!(Instant::now() < deadline, "the reload did not take effect");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let (status, stderr) = sigterm_and_wait(gw);
    assert!(status.success(), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(
        lines.iter().any(|l| l.contains("configuration reloaded")),
        "{stderr}"
    );
    for line in &lines {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}"));
        assert!(v["level"].is_string());
    }
    let access: Vec<&&str> = lines
        .iter()
        .filter(|l| l.contains("idbridge::access"))
        .collect();
    assert!(access.len() >= 2, "{stderr}");
    assert!(
        access
            .iter()
            .all(|l| l.contains("\"request_id\"") && l.contains("\"latency_ms\""))
    );
}

/// A fresh demo PKI, made by the project's script.
fn pki() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scripts/make-tls-certs.sh"
    );
    let out = Command::new("bash")
        .arg(script)
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir
}

/// Whether `openssl s_client` verifies the certificate served on `port` against `ca`.
fn served_by(port: u16, ca: &std::path::Path) -> bool {
    let out = Command::new("openssl")
        .args([
            "s_client",
            "-connect",
            &format!("127.0.0.1:{port}"),
            "-servername",
            "localhost",
        ])
        .args(["-verify_return_error", "-brief", "-CAfile"])
        .arg(ca)
        .stdin(Stdio::null())
        .output()
        .expect("openssl is installed (make deps)");
    out.status.success() && String::from_utf8_lossy(&out.stderr).contains("Verification: OK")
}

#[tokio::test(flavor = "multi_thread")]
async fn sighup_serves_a_replaced_certificate_to_new_connections_only() {
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let (first, second, live) = (pki(), pki(), tempfile::tempdir().unwrap());
    let install = |pki: &std::path::Path| {
        for f in ["server.pem", "server-key.pem"] {
            std::fs::copy(pki.join(f), live.path().join(f)).unwrap();
        }
    };
    install(first.path());
    let config = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    std::fs::write(
        config.path(),
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\nadmin_listen = \"127.0.0.1:0\"\n\
             [server.tls]\nlisten = \"127.0.0.1:0\"\ncert_file = \"{}\"\nkey_file = \"{}\"\n",
            live.path().join("server.pem").display(),
            live.path().join("server-key.pem").display()
        ),
    )
    .unwrap();
    let gw = spawn_gateway(config.path(), "http://127.0.0.1:9", "http://127.0.0.1:9");
    let port: u16 = gw
        .tls_url
        .as_deref()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(served_by(port, &first.path().join("ca.pem")));

    // A keep-alive connection opened before the reload (it trusts both CAs).
    let mut roots = rustls::RootCertStore::empty();
    for pki in [first.path(), second.path()] {
        let pem = std::fs::read(pki.join("ca.pem")).unwrap();
        for cert in rustls::pki_types::pem::PemObject::pem_slice_iter(&pem) {
            roots.add(cert.unwrap()).unwrap();
        }
    }
    let client = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut conn = tokio_rustls::TlsConnector::from(Arc::new(client))
        .connect(name, tcp)
        .await
        .unwrap();
    let mut jwks = async || {
        conn.write_all(b"GET /.well-known/jwks.json HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .await
            .unwrap();
        let mut buf = vec![0u8; 8192];
        let n = conn.read(&mut buf).await.unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    assert!(jwks().await.starts_with("HTTP/1.1 200"));

    install(second.path());
    Command::new("kill")
        .args(["-HUP", &gw.child.id().to_string()])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !served_by(port, &second.path().join("ca.pem")) {
        assert!(
            Instant::now() < deadline,
            "the new certificate was not served"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        jwks().await.starts_with("HTTP/1.1 200"),
        "the connection opened before carries on"
    );
    let (status, stderr) = sigterm_and_wait(gw);
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("listener certificate reloaded"), "{stderr}");
}
