//! Operations: metrics, health and readiness, the admin API, request ids, reload.

use crate::common;

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TOKEN: &str = "test-admin-token-0123456789";

async fn admin_get(h: &common::Harness, path: &str, token: Option<&str>) -> (u16, String) {
    let mut req = h.http.get(format!("{}{path}", h.gw.admin_url()));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

/// The value of one sample line, e.g. `idbridge_logins_total{backend="enos",outcome="success"}`.
pub fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics.lines().find_map(|l| {
        l.strip_prefix(series)
            .and_then(|rest| rest.trim().parse().ok())
    })
}

#[tokio::test]
async fn metrics_tell_what_happened() {
    let h = common::start().await;
    let id = h.enos_login().await;
    for _ in 0..3 {
        h.enos_info(&format!("Bearer {id}")).await;
    }
    let bad = json!({"authType": 0, "principal": "portal_test01", "credentials": "nope"});
    h.post_json(&h.gw.base_url(), "/enos-iam-service/v2.0/login", None, bad)
        .await;
    h.netid_login().await;
    h.post_json(
        &h.gw.base_url(),
        "/enos-iam-service/v2.0/organization/info",
        Some(&id),
        json!({"id": "x"}),
    )
    .await;
    let (status, text) = admin_get(&h, "/metrics", None).await;
    assert_eq!(status, 200);

    let at =
        |series: &str| sample(&text, series).unwrap_or_else(|| panic!("no {series} in\n{text}"));
    assert_eq!(
        at(
            r#"idbridge_requests_total{backend="enos",face="enos",operation="status",outcome="ok"}"#
        ),
        3.0
    );
    assert_eq!(
        at(
            r#"idbridge_requests_total{backend="enos",face="enos",operation="login",outcome="rejected"}"#
        ),
        1.0
    );
    assert_eq!(
        at(
            r#"idbridge_requests_total{backend="enos",face="proxy",operation="passthrough",outcome="ok"}"#
        ),
        1.0
    );
    assert_eq!(at(r#"idbridge_cache_lookups_total{result="hit"}"#), 3.0);
    assert_eq!(
        at(r#"idbridge_logins_total{backend="enos",outcome="success"}"#),
        1.0
    );
    assert_eq!(
        at(r#"idbridge_logins_total{backend="enos",outcome="bad_credentials"}"#),
        1.0
    );
    assert_eq!(
        at(r#"idbridge_logins_total{backend="netid",outcome="success"}"#),
        1.0
    );
    assert_eq!(at(r#"idbridge_sessions{backend="enos"}"#), 1.0);
    assert_eq!(at(r#"idbridge_sessions{backend="netid"}"#), 1.0);
    assert_eq!(
        at(r#"idbridge_upstream_requests_total{backend="enos",operation="status",outcome="ok"}"#),
        1.0
    );
    assert_eq!(
        at(r#"idbridge_request_duration_seconds_count{face="enos",operation="status"}"#),
        3.0
    );
    assert!(text.contains("idbridge_build_info{version="));

    promtool_check(&text);
}

/// `promtool check metrics` (the Prometheus parser and linter) when it is installed; `make test`
/// installs it and sets IDBRIDGE_REQUIRE_TOOLS=1 so that it cannot be skipped there.
fn promtool_check(exposition: &str) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(_) if std::env::var("IDBRIDGE_REQUIRE_TOOLS").is_err() => {
            eprintln!(
                "promtool not installed: exposition checked by this test's own assertions only"
            );
            return;
        }
        Err(e) => panic!("promtool required but not runnable: {e}"),
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(exposition.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn health_and_readiness_follow_the_backends() {
    let h = common::start().await;
    assert_eq!(admin_get(&h, "/healthz", None).await, (200, "ok\n".into()));
    let (status, body) = admin_get(&h, "/readyz", None).await;
    assert_eq!(status, 200, "{body}");
    let h = h.with_backends_stopped(true, false).await;
    let (status, body) = admin_get(&h, "/readyz", None).await;
    assert_eq!(status, 503, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["backends"]["enos"], "down");
    assert_eq!(v["backends"]["netid"], "up");
    let (_, metrics) = admin_get(&h, "/metrics", None).await;
    assert_eq!(
        sample(&metrics, r#"idbridge_backend_up{backend="enos"}"#),
        Some(0.0)
    );
    assert_eq!(
        sample(&metrics, r#"idbridge_backend_up{backend="netid"}"#),
        Some(1.0)
    );
}

#[tokio::test]
async fn the_admin_api_needs_its_token_and_never_shows_session_ids() {
    let disabled = common::start().await;
    assert_eq!(
        admin_get(&disabled, "/admin/sessions", Some(TOKEN)).await.0,
        404
    );

    let h = common::start_with(|c| c.admin.token = Some(TOKEN.into())).await;
    let enos_id = h.enos_login().await;
    let netid_id = h.netid_login().await;
    assert_eq!(admin_get(&h, "/admin/sessions", None).await.0, 401);
    assert_eq!(
        admin_get(&h, "/admin/sessions", Some("wrong-token-wrong-token"))
            .await
            .0,
        401
    );

    let (status, body) = admin_get(&h, "/admin/sessions", Some(TOKEN)).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        !body.contains(&enos_id) && !body.contains(&netid_id),
        "no session id may leave: {body}"
    );
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["count"], 2);
    let enos = v["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["backend"] == "enos")
        .unwrap();
    assert_eq!(enos["subject"]["name"], "portal_test01");

    let handle = enos["handle"].as_str().unwrap();
    let url = format!("{}/admin/sessions/{handle}", h.gw.admin_url());
    let resp = h.http.delete(url).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["revoked"][0]["upstream"], "logged_out");
    let (_, info) = h.enos_info(&format!("Bearer {enos_id}")).await;
    assert_eq!(info["status"], 30401, "{info}");

    let url = format!("{}/admin/subjects/1/sessions", h.gw.admin_url());
    let resp = h.http.delete(url).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let (_, status) = h.netid_status(&netid_id, 5).await;
    assert_eq!(status["IsLoggedIn"], "False", "{status}");
}

/// An HTTP upstream that answers every request and reports the first request head it reads.
/// Connections that send nothing (the gateway's readiness probe) are simply closed.
pub async fn capture_upstream() -> (String, tokio::sync::oneshot::Receiver<String>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel();
    let tx = std::sync::Arc::new(std::sync::Mutex::new(Some(tx)));
    tokio::spawn(async move {
        loop {
            let (mut conn, _) = listener.accept().await.unwrap();
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = conn
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                    .await;
                if let Some(tx) = tx.lock().unwrap().take() {
                    tx.send(String::from_utf8_lossy(&head).to_lowercase()).ok();
                }
            });
        }
    });
    (url, rx)
}

#[tokio::test]
async fn request_ids_are_kept_or_made_and_passed_upstream() {
    let (upstream, head) = capture_upstream().await;
    let (enos_upstream, enos_head) = capture_upstream().await;
    let h = common::start_with(|c| {
        c.backend_mut("netid").unwrap().url = upstream.parse().unwrap();
        c.backend_mut("enos").unwrap().url = enos_upstream.parse().unwrap();
    })
    .await;
    let resp = h
        .http
        .get(h.url("/api/anything"))
        .header("X-Request-Id", "trace-42")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-request-id"], "trace-42");
    assert!(head.await.unwrap().contains("x-request-id: trace-42"));

    // The gateway's own call on a request's behalf (a status fetch on a miss) carries it too.
    let unknown = format!("Bearer IAM_S_{}", "B".repeat(128));
    h.http
        .post(h.url("/enos-iam-service/v2.0/session/info"))
        .header("Authorization", unknown)
        .header("X-Request-Id", "trace-43")
        .send()
        .await
        .unwrap();
    let fetched = enos_head.await.unwrap();
    assert!(
        fetched.starts_with("post /enos-iam-service/v2.0/session/info"),
        "{fetched}"
    );
    assert!(fetched.contains("x-request-id: trace-43"), "{fetched}");

    let resp = h.http.get(h.url("/nothing")).send().await.unwrap();
    let made = resp.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(made.len(), 32);
}

#[tokio::test]
async fn forward_auth_passes_the_request_id_upstream() {
    let (enos_upstream, enos_head) = capture_upstream().await;
    let h = common::start_with(|c| {
        c.backend_mut("enos").unwrap().url = enos_upstream.parse().unwrap();
    })
    .await;
    let unknown = format!("Bearer IAM_S_{}", "C".repeat(128));
    h.http
        .get(h.url("/idbridge/v1/auth"))
        .header("Authorization", unknown)
        .header("X-Request-Id", "trace-44")
        .send()
        .await
        .unwrap();
    let fetched = enos_head.await.unwrap();
    assert!(fetched.contains("x-request-id: trace-44"), "{fetched}");
}

#[tokio::test]
async fn reload_applies_new_settings_and_keeps_sessions() {
    let h = common::start().await;
    let id = h.enos_login().await;
    let body = json!({"authType": 0, "principal": "x".repeat(2000), "credentials": "y"});
    let (status, _) = h
        .post_json(
            &h.gw.base_url(),
            "/enos-iam-service/v2.0/login",
            None,
            body.clone(),
        )
        .await;
    assert_eq!(status, 200);

    let mut config = h.gw.runtime().config.clone();
    config.limits.max_body_bytes = 1024;
    config.backend_mut("enos").unwrap().timeouts.call = Duration::from_millis(750);
    let restart_needed = h.gw.reload(config).await.unwrap();
    assert!(restart_needed.is_empty(), "{restart_needed:?}");

    let (status, _) = h
        .post_json(&h.gw.base_url(), "/enos-iam-service/v2.0/login", None, body)
        .await;
    assert_eq!(status, 413, "the new limit applies");
    let (status, v) = h.enos_info(&format!("Bearer {id}")).await;
    assert_eq!(
        (status, &v["success"]),
        (200, &json!(true)),
        "the session survived: {v}"
    );
    assert_eq!(
        h.enos.count("enos.session_info"),
        1,
        "and is still a cache hit"
    );

    let mut config = h.gw.runtime().config.clone();
    config.server.listen = Some("127.0.0.1:1".parse().unwrap());
    let restart_needed = h.gw.reload(config).await.unwrap();
    assert_eq!(
        restart_needed.len(),
        1,
        "listen addresses need a restart: {restart_needed:?}"
    );
}

#[tokio::test]
async fn reload_brings_new_routes_and_keys() {
    let (app, _head) = capture_upstream().await;
    let h = common::start().await;
    assert_eq!(
        h.http.get(h.url("/app/x")).send().await.unwrap().status(),
        404
    );
    let jwks_before = h.get_json("/.well-known/jwks.json").await.1;

    let mut config = h.gw.runtime().config.clone();
    config.routes = vec![common::app_route("/app/", &app, false)];
    config.tokens.algorithm = idbridge_gateway::config::TokenAlgorithm::Es256;
    h.gw.reload(config).await.unwrap();

    let resp = h.http.get(h.url("/app/x")).send().await.unwrap();
    assert_eq!(resp.status(), 401, "the new route exists and is protected");
    let jwks_after = h.get_json("/.well-known/jwks.json").await.1;
    assert_eq!(
        jwks_after["keys"][0]["kty"], "EC",
        "the new key ring is published"
    );
    assert_ne!(jwks_before, jwks_after);

    // An unchanged token configuration keeps its ring across a reload (a generated key survives).
    let config = h.gw.runtime().config.clone();
    h.gw.reload(config).await.unwrap();
    let jwks_again = h.get_json("/.well-known/jwks.json").await.1;
    assert_eq!(jwks_after, jwks_again);
}
