//! No password, session id, token or certificate ever appears in a log line: a full scenario runs
//! with every log captured at debug level, then the capture is searched for each secret it used.
//! The capture is this test's own subscriber, scoped to its thread (a current-thread runtime, so the
//! gateway's tasks run there too); the other tests of the binary keep the process-wide one.

use crate::common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde_json::json;

/// Log output kept in memory, for tests that search it.
#[derive(Clone, Default)]
pub struct Capture(Arc<Mutex<Vec<u8>>>);

impl Capture {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const ADMIN_TOKEN: &str = "admin-secret-token-0123456789";
const WRONG_PASSWORD: &str = "wrong-Passw0rd-secret";
const QUERY_TOKEN: &str = "query-token-secret-42";

#[tokio::test]
async fn a_full_scenario_logs_no_secret() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(idbridge_gateway::logging::filter("debug"))
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .json()
        .finish();
    // Pingora logs through the `log` crate: the bridge into tracing is installed with the
    // process-wide subscriber, whose level must not hide what this test looks for.
    common::init_logging();
    log::set_max_level(log::LevelFilter::Trace);
    let _scope = tracing::subscriber::set_default(subscriber);

    let h = common::start_with(|c| c.admin.token = Some(ADMIN_TOKEN.into())).await;
    let gw = h.gw.base_url();

    let enos_id = h.enos_login().await;
    let bad = json!({"authType": 0, "principal": "portal_test01", "credentials": WRONG_PASSWORD});
    h.post_json(&gw, "/enos-iam-service/v2.0/login", None, bad)
        .await;
    h.enos_info(&format!("Bearer {enos_id}")).await;
    h.enos_info(&enos_id).await;
    h.post_json(
        &gw,
        "/enos-iam-service/v2.0/organization/info",
        Some(&enos_id),
        json!({"id": "o15578227985571"}),
    )
    .await;

    let unified = json!({"backend": "enos", "principal": common::DEMO_PRINCIPAL, "credentials": common::DEMO_PASSWORD});
    let (_, login) = h.post_json(&gw, "/idbridge/v1/login", None, unified).await;
    let token = login["token"].as_str().unwrap().to_owned();
    h.http
        .get(format!("{gw}/idbridge/v1/auth"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    h.enos_info(&format!("Bearer {token}")).await;
    h.http
        .get(format!("{gw}/idbridge/v1/session"))
        .bearer_auth(format!("{token}x"))
        .send()
        .await
        .unwrap();

    let netid_id = h.netid_login().await;
    h.netid_status(&netid_id, 1).await;
    h.netid_status(&enos_id, 2).await;
    h.enos_info(&format!("Bearer {netid_id}")).await;
    let soap_id = h.netid_soap_login().await;
    h.soap(
        "GetLoginStatus",
        &format!("<SessionId>{soap_id}</SessionId><Count>9</Count>"),
    )
    .await;

    // Failures log too: a backend error, a malformed body carrying a secret, a pass-through to a
    // backend that refuses the connection, with a token in the query string.
    let fresh = h.enos_login_direct().await;
    h.enos.faults().fail_next(1, 503);
    h.enos_info(&format!("Bearer {fresh}")).await;
    h.post_json(
        &gw,
        "/api/login/status/get",
        None,
        json!({"SessionId": netid_id, "Count": "x"}),
    )
    .await;
    h.http
        .get(format!("{}/admin/sessions", h.gw.admin_url()))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    h.http
        .get(format!("{}/admin/sessions", h.gw.admin_url()))
        .bearer_auth("not-the-token")
        .send()
        .await
        .unwrap();

    h.post_json(
        &gw,
        "/enos-iam-service/v2.0/logout",
        Some(&format!("Bearer {enos_id}")),
        json!({}),
    )
    .await;
    h.post_json(
        &gw,
        "/api/logout",
        None,
        json!({"SessionId": netid_id, "Count": "3"}),
    )
    .await;

    let common::Harness {
        enos,
        netid,
        gw: gateway,
        http,
        ..
    } = h;
    enos.shutdown().await;
    http.get(format!(
        "{gw}/enos-iam-service/v2.0/x?access_token={QUERY_TOKEN}"
    ))
    .send()
    .await
    .unwrap();
    netid.shutdown().await;
    gateway.shutdown().await;

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    let access_lines = logs
        .lines()
        .filter(|l| l.contains("idbridge::access"))
        .count();
    assert!(
        access_lines >= 20,
        "every gateway request of the scenario must be logged ({access_lines} access lines):\n{logs}"
    );
    assert!(
        logs.lines()
            .all(|l| !l.contains("idbridge::access") || l.contains("request_id"))
    );

    let cert = common::demo_cert();
    let secrets = [
        ("EnOS password", common::DEMO_PASSWORD),
        ("wrong password", WRONG_PASSWORD),
        ("EnOS session id", enos_id.as_str()),
        ("second EnOS session id", fresh.as_str()),
        ("Net iD session id", netid_id.as_str()),
        ("SOAP Net iD session id", soap_id.as_str()),
        ("admin token", ADMIN_TOKEN),
        ("gateway token", token.as_str()),
        ("gateway token signature", token.rsplit('.').next().unwrap()),
        ("query-string token", QUERY_TOKEN),
        ("client certificate", &cert[..64]),
    ];
    for (what, secret) in secrets {
        if let Some(line) = logs.lines().find(|l| l.contains(secret)) {
            panic!("{what} leaked into the logs:\n{line}");
        }
        // JSON logs escape some characters; base64 '/' and '+' must not hide a leak either.
        let escaped = secret.replace('/', "\\/");
        assert!(!logs.contains(&escaped), "{what} leaked (escaped form)");
    }
}
