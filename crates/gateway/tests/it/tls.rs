//! TLS on both sides, with real certificates (scripts/make-tls-certs.sh) and real clients: curl
//! and openssl s_client on the listener, the simulators over TLS behind the gateway.

use std::path::Path;
use std::sync::Arc;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

use crate::common::{self, Harness};

/// curl against the gateway's TLS listener; returns the exit code and what it printed. Run
/// without blocking: the gateway answers on this test's own runtime.
async fn curl(pki: &Path, url: &str, args: &[&str]) -> (i32, String) {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "10", "--cacert"])
        .arg(pki.join("ca.pem"))
        .args(args)
        .arg(url)
        .output()
        .await
        .expect("curl is installed (make deps)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.code().unwrap_or(-1), text)
}

/// An EnOS session/info body without the fields that count down with the clock.
fn steady(body: &str) -> Value {
    let mut v: Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {body}"));
    v["session"]["expires"] = Value::Null;
    v
}

fn tls_port(h: &Harness) -> u16 {
    h.gw.tls_addr().unwrap().port()
}

#[tokio::test]
async fn curl_gets_session_info_over_https_with_http1_and_http2() {
    let pki = common::pki();
    let h = common::builder().tls_listener(pki.path()).start().await;
    let id = h.enos_login().await;
    let (status, plain) = h.enos_info(&format!("Bearer {id}")).await;
    assert_eq!(status, 200);
    let url = format!(
        "https://localhost:{}/enos-iam-service/v2.0/session/info",
        tls_port(&h)
    );
    let auth = format!("Authorization: Bearer {id}");
    for (version, flag) in [("1.1", "--http1.1"), ("2", "--http2")] {
        let (code, out) = curl(
            pki.path(),
            &url,
            &[flag, "-X", "POST", "-H", &auth, "-w", "\n%{http_version}"],
        )
        .await;
        assert_eq!(code, 0, "curl {flag}: {out}");
        let (body, used) = out.rsplit_once('\n').unwrap();
        assert_eq!(used, version, "negotiated HTTP version");
        let mut expected = plain.clone();
        expected["session"]["expires"] = Value::Null;
        assert_eq!(
            steady(body),
            expected,
            "same body over {flag} as over plain HTTP"
        );
    }
}

#[tokio::test]
async fn both_backends_over_tls_login_status_bridge_logout_and_pass_through() {
    let pki = common::pki();
    let h = common::builder()
        .tls_backends(pki.path())
        .tls_listener(pki.path())
        .start()
        .await;
    assert!(h.enos.base_url().starts_with("https://"));
    // EnOS: login, cached status, pass-through, all over TLS to the simulator.
    let enos = h.enos_login().await;
    let (status, v) = h.enos_info(&format!("Bearer {enos}")).await;
    assert_eq!((status, v["success"].as_bool()), (200, Some(true)), "{v}");
    let (status, v) = h.enos_org_info(&enos).await;
    assert_eq!((status, v["success"].as_bool()), (200, Some(true)), "{v}");
    // Net iD: login, status over REST and SOAP.
    let netid = h.netid_login().await;
    let (status, v) = h.netid_status(&netid, 1).await;
    assert_eq!(
        (status, v["IsLoggedIn"].as_str()),
        (200, Some("True")),
        "{v}"
    );
    // The bridge, both ways.
    let (_, v) = h.netid_status(&enos, 2).await;
    assert_eq!(v["Name"], "portal_test01", "{v}");
    let (_, v) = h.enos_info(&format!("Bearer {netid}")).await;
    assert_eq!(v["session"]["user"]["name"], "John Doe", "{v}");
    // Pass-through over HTTPS end to end: client → gateway (TLS) → simulator (TLS).
    let (code, out) = curl(
        pki.path(),
        &format!(
            "https://localhost:{}/enos-iam-service/v2.0/organization/info",
            tls_port(&h)
        ),
        &[
            "-H",
            &format!("Authorization: {enos}"),
            "-d",
            r#"{"id":"o15578227985571"}"#,
        ],
    )
    .await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("\"success\":true"), "{out}");
    // Logouts reach both backends.
    let (status, v) = h.enos_logout(&format!("Bearer {enos}")).await;
    assert_eq!((status, v["success"].as_bool()), (200, Some(true)), "{v}");
    let (status, v) = h
        .post_json(
            &h.gw.base_url(),
            "/api/logout",
            None,
            json!({"SessionId": netid, "Count": "3"}),
        )
        .await;
    assert_eq!(
        (status, v["Status"]["Code"].as_str()),
        (200, Some("Success")),
        "{v}"
    );
    assert_eq!(h.enos.count("enos.logout"), 1);
    assert_eq!(h.netid.count("netid.logout"), 1);
}

#[tokio::test]
async fn a_backend_certificate_from_another_ca_is_refused_before_any_request() {
    let trusted = common::pki();
    let other = common::pki();
    let h = common::builder()
        .tls_backends(other.path())
        .trusting(trusted.path())
        .start()
        .await;
    // A session the gateway must fetch: the fetch fails at the handshake.
    let unknown = format!("Bearer IAM_S_{}", "D".repeat(128));
    let (status, v) = h.enos_info(&unknown).await;
    assert_eq!(status, 502, "{v}");
    assert_eq!(v["success"], false, "an EnOS envelope: {v}");
    // Pass-through: the same, in the caller's protocol.
    let (status, v) = h
        .post_json(
            &h.gw.base_url(),
            "/enos-iam-service/v2.0/organization/info",
            Some("IAM_S_x"),
            json!({"id": "o1"}),
        )
        .await;
    assert_eq!((status, v["success"].as_bool()), (502, Some(false)), "{v}");
    let (status, v) = h
        .post_json(&h.gw.base_url(), "/api/object/get", None, json!({}))
        .await;
    assert_eq!(
        (status, v["Status"]["Code"].as_str()),
        (502, Some("InternalError")),
        "{v}"
    );
    // Nothing reached either simulator.
    assert!(
        h.enos.stats().values().all(|n| *n == 0),
        "{:?}",
        h.enos.stats()
    );
    assert!(
        h.netid.stats().values().all(|n| *n == 0),
        "{:?}",
        h.netid.stats()
    );
    let metrics = h.metrics().await;
    assert!(
        metrics.contains(
            r#"idbridge_upstream_requests_total{backend="enos",operation="status",outcome="tls"} 1"#
        ),
        "{metrics}"
    );
}

/// The log line of a refused backend certificate names the backend and the reason.
#[test]
fn a_refused_backend_certificate_is_logged_with_its_reason() {
    let capture = crate::logs::Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    tracing::subscriber::with_default(subscriber, || {
        rt.block_on(async {
            let trusted = common::pki();
            let other = common::pki();
            let h = common::builder()
                .tls_backends(other.path())
                .trusting(trusted.path())
                .start()
                .await;
            let (status, _) = h
                .enos_info(&format!("Bearer IAM_S_{}", "E".repeat(128)))
                .await;
            assert_eq!(status, 502);
        })
    });
    let logs = capture.text();
    let line = logs
        .lines()
        .find(|l| l.contains("TLS with the upstream failed"))
        .unwrap_or_else(|| panic!("no TLS failure logged:\n{logs}"));
    assert!(
        line.contains("endpoint=\"enos\"") || line.contains("endpoint=enos"),
        "{line}"
    );
    assert!(
        line.to_lowercase().contains("unknownissuer") || line.contains("certificate"),
        "{line}"
    );
}

#[tokio::test]
async fn reloaded_certificates_serve_new_handshakes_while_open_connections_carry_on() {
    let first = common::pki();
    let second = common::pki();
    let live = tempfile::tempdir().unwrap();
    let install = |pki: &Path| {
        for f in ["server.pem", "server-key.pem"] {
            std::fs::copy(pki.join(f), live.path().join(f)).unwrap();
        }
    };
    install(first.path());
    let h = common::builder().tls_listener(live.path()).start().await;
    let port = tls_port(&h);

    // A keep-alive connection opened before the reload, trusting both CAs.
    let mut roots = rustls::RootCertStore::empty();
    for pki in [first.path(), second.path()] {
        let pem = std::fs::read(pki.join("ca.pem")).unwrap();
        for cert in rustls::pki_types::pem::PemObject::pem_slice_iter(&pem) {
            roots.add(cert.unwrap()).unwrap();
        }
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut conn = connector.connect(name, tcp).await.unwrap();
    let get_jwks = async |conn: &mut tokio_rustls::client::TlsStream<tokio::net::TcpStream>| {
        conn.write_all(b"GET /.well-known/jwks.json HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .await
            .unwrap();
        let mut buf = vec![0u8; 8192];
        let n = conn.read(&mut buf).await.unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    assert!(get_jwks(&mut conn).await.starts_with("HTTP/1.1 200"));

    install(second.path());
    let restart_needed = h.gw.reload(h.gw.runtime().config.clone()).await.unwrap();
    assert!(restart_needed.is_empty(), "{restart_needed:?}");

    // A new connection sees the new certificate (openssl s_client, verified against the new CA).
    let out = Command::new("openssl")
        .args([
            "s_client",
            "-connect",
            &format!("127.0.0.1:{port}"),
            "-servername",
            "localhost",
            "-CAfile",
        ])
        .arg(second.path().join("ca.pem"))
        .args(["-verify_return_error", "-brief"])
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .unwrap();
    let said =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "s_client: {said}");
    assert!(said.contains("Verification: OK"), "{said}");
    // And the connection opened before the reload carries on.
    assert!(
        get_jwks(&mut conn).await.starts_with("HTTP/1.1 200"),
        "the old connection still works"
    );
}

#[tokio::test]
async fn a_required_client_certificate_is_checked_at_the_handshake() {
    let pki = common::pki();
    let ca = pki.path().join("ca.pem").display().to_string();
    let h = common::builder()
        .tls_listener(pki.path())
        .set("server.tls.client_ca_file", ca)
        .start()
        .await;
    let url = format!("https://localhost:{}/.well-known/jwks.json", tls_port(&h));
    let (code, out) = curl(pki.path(), &url, &[]).await;
    assert_ne!(code, 0, "no client certificate, no answer: {out}");
    let cert = pki.path().join("client.pem").display().to_string();
    let key = pki.path().join("client-key.pem").display().to_string();
    let (code, out) = curl(pki.path(), &url, &["--cert", &cert, "--key", &key]).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("\"keys\""), "{out}");
    let metrics = h.metrics().await;
    let refused = metrics
        .lines()
        .find(|l| {
            l.starts_with(
                r#"idbridge_tls_handshake_failures_total{reason="client_certificate_missing"}"#,
            )
        })
        .unwrap_or_else(|| panic!("{metrics}"));
    let n: f64 = refused.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(n >= 1.0, "{refused}");
    assert!(
        metrics.contains(
            r#"idbridge_tls_certificate_expiry_timestamp_seconds{certificate="listener"}"#
        )
    );
}
