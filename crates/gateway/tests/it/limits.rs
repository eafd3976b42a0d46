//! The real client and its limits: each test reproduces an attack tried against the gateway and
//! shows it no longer works. Per-address tests connect from distinct loopback addresses
//! (127.0.0.2, 127.0.0.3), which Linux routes to the gateway on 127.0.0.1.

use std::net::IpAddr;
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{self, Harness};

/// A client whose connections come from `source`.
pub fn client_from(source: &str) -> reqwest::Client {
    let ip: IpAddr = source.parse().unwrap();
    reqwest::Client::builder()
        .local_address(ip)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

pub async fn enos_login_from(
    h: &Harness,
    client: &reqwest::Client,
    principal: &str,
    password: &str,
) -> (u16, Value) {
    let resp = client
        .post(h.url("/enos-iam-service/v2.0/login"))
        .json(&json!({"authType": 0, "principal": principal, "credentials": password}))
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

#[tokio::test]
async fn one_attacker_cannot_lock_everyone_out() {
    let h = common::start().await;
    let attacker = client_from("127.0.0.2");
    for who in [
        "mallory_a",
        "mallory_b",
        "mallory_c",
        "mallory_d",
        "mallory_e",
        "mallory_f",
    ] {
        let (status, v) = enos_login_from(&h, &attacker, who, "guess").await;
        assert_eq!(status, 200, "{v}");
        assert_ne!(v["status"], 0, "{v}");
    }
    // The backend locked the attacker's address, not the gateway's: the real user still logs in,
    // natively and through the unified face.
    let user = client_from("127.0.0.3");
    let (status, v) =
        enos_login_from(&h, &user, common::DEMO_PRINCIPAL, common::DEMO_PASSWORD).await;
    assert_eq!((status, v["success"].as_bool()), (200, Some(true)), "{v}");
    let resp = user
        .post(h.url("/idbridge/v1/login"))
        .json(&json!({"backend": "enos", "principal": common::DEMO_PRINCIPAL, "credentials": common::DEMO_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    // And the attacker stays locked out, even when it claims another address.
    let resp = attacker
        .post(h.url("/enos-iam-service/v2.0/login"))
        .header("X-Forwarded-For", "127.0.0.9")
        .json(&json!({"authType": 0, "principal": common::DEMO_PRINCIPAL,
                      "credentials": common::DEMO_PASSWORD, "clientIp": "127.0.0.9"}))
        .send()
        .await
        .unwrap();
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["status"], 30429, "{v}");
}

#[tokio::test]
async fn forwarded_addresses_are_believed_from_trusted_proxies_only() {
    let (upstream, head) = crate::ops::capture_upstream().await;
    let (upstream2, head2) = crate::ops::capture_upstream().await;
    let h = common::builder()
        .set("server.trusted_proxies", "127.0.0.2/32")
        .start()
        .await;
    // Pass-through to a capturing backend: what X-Forwarded-For does the backend see?
    let runtime_config = |url: &str| {
        let mut c = h.gw.runtime().config.clone();
        c.backend_mut("netid").unwrap().url = url.parse().unwrap();
        c
    };
    h.gw.reload(runtime_config(&upstream)).await.unwrap();
    client_from("127.0.0.2")
        .get(h.url("/api/anything"))
        .header("X-Forwarded-For", "6.6.6.6, 198.51.100.7")
        .send()
        .await
        .unwrap();
    let seen = head.await.unwrap();
    assert!(seen.contains("x-forwarded-for: 198.51.100.7"), "{seen}");
    h.gw.reload(runtime_config(&upstream2)).await.unwrap();
    client_from("127.0.0.3")
        .get(h.url("/api/anything"))
        .header("X-Forwarded-For", "198.51.100.7")
        .send()
        .await
        .unwrap();
    let seen = head2.await.unwrap();
    assert!(
        seen.contains("x-forwarded-for: 127.0.0.3"),
        "an untrusted client's claim is replaced: {seen}"
    );
    assert!(!seen.contains("198.51.100.7"), "{seen}");
}

#[tokio::test]
async fn failed_logins_are_throttled_per_address_in_each_protocol() {
    let h = common::builder()
        .set("limits.login_failures_per_address", "5")
        .start()
        .await;
    let attacker = client_from("127.0.0.2");
    for i in 0..5 {
        let (_, v) = enos_login_from(&h, &attacker, &format!("mallory_{i}"), "guess").await;
        assert_eq!(v["status"], 30400, "{v}");
    }
    // The sixth is refused by the gateway, as EnOS refuses a locked-out address, and never
    // reaches the backend.
    let resp = attacker
        .post(h.url("/enos-iam-service/v2.0/login"))
        .json(&json!({"authType": 0, "principal": "mallory_x", "credentials": "guess"}))
        .send()
        .await
        .unwrap();
    assert!(resp.headers().contains_key("retry-after"));
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["status"], 30429, "{v}");
    assert_eq!(h.enos.count("enos.login"), 5);
    // The unified face says 429 with Retry-After.
    let resp = attacker
        .post(h.url("/idbridge/v1/login"))
        .json(&json!({"backend": "enos", "principal": "mallory_y", "credentials": "guess"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 0 && retry <= 15 * 60, "{retry}");
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["code"], "throttled", "{v}");
    // Net iD REST: a non-Success Status on 429.
    let resp = attacker
        .post(h.url("/api/login"))
        .json(&json!({"Certificate": common::demo_cert(), "DateTime": "2026-11-23T10:00:00Z"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["Status"]["Code"], "AccessDenied", "{v}");
    // Another address logs in.
    let (_, v) = enos_login_from(
        &h,
        &client_from("127.0.0.3"),
        common::DEMO_PRINCIPAL,
        common::DEMO_PASSWORD,
    )
    .await;
    assert_eq!(v["success"], true, "{v}");
    let metrics = h.metrics().await;
    assert!(
        metrics.contains(r#"idbridge_throttled_total{face="enos",reason="login_address"} 1"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn failed_logins_are_throttled_per_account_across_addresses() {
    let h = common::builder()
        .set("limits.login_failures_per_account", "3")
        .start()
        .await;
    for source in ["127.0.0.2", "127.0.0.3", "127.0.0.4"] {
        let (_, v) = enos_login_from(&h, &client_from(source), "ldap_user01", "guess").await;
        assert_eq!(v["status"], 30400, "{v}");
    }
    // Spelled differently, from a fourth address: the same account, refused at the gateway,
    // before the backend's own lockout could lock it.
    let (_, v) = enos_login_from(&h, &client_from("127.0.0.5"), "LDAP_user01", "guess").await;
    assert_eq!(v["status"], 30429, "{v}");
    assert_eq!(h.enos.count("enos.login"), 3);
}

/// A session id of Net iD's form that no portal ever issued.
fn made_up_netid_id() -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 20]>())
}

#[tokio::test]
async fn made_up_credentials_cost_at_most_one_backend_call() {
    let h = common::start().await;
    // No known form: refused at once, anywhere.
    for bad in ["foo".to_owned(), "x".repeat(5000)] {
        let (status, v) = h.enos_info(&format!("Bearer {bad}")).await;
        assert_eq!((status, v["status"].as_i64()), (200, Some(30401)), "{v}");
    }
    assert_eq!(h.netid.count("netid.get_login_status"), 0);
    assert_eq!(h.enos.count("enos.session_info"), 0);
    // A well-formed id the portal does not know: asked once, then refused from memory.
    let id = made_up_netid_id();
    for count in 1..=5 {
        let (status, v) = h.netid_status(&id, count).await;
        assert_eq!(
            (status, v["IsLoggedIn"].as_str()),
            (200, Some("False")),
            "{v}"
        );
    }
    let (status, _) = h.enos_info(&format!("Bearer {id}")).await;
    assert_eq!(status, 200);
    assert_eq!(h.netid.count("netid.get_login_status"), 1);
    let metrics = h.metrics().await;
    assert!(
        metrics.contains(r#"idbridge_cache_lookups_total{result="refused"} 5"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn each_client_has_a_budget_of_backend_lookups() {
    let h = common::builder()
        .set("limits.lookups_per_address", "3")
        .start()
        .await;
    let (greedy, other) = (client_from("127.0.0.2"), client_from("127.0.0.3"));
    let status_from = |client: &reqwest::Client, id: String| {
        client
            .post(h.url("/api/login/status/get"))
            .json(&json!({"SessionId": id, "Count": "1"}))
            .send()
    };
    for _ in 0..3 {
        let resp = status_from(&greedy, made_up_netid_id()).await.unwrap();
        assert_eq!(resp.status(), 200);
    }
    let resp = status_from(&greedy, made_up_netid_id()).await.unwrap();
    assert_eq!(resp.status(), 429);
    assert!(resp.headers().contains_key("retry-after"));
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["Status"]["Code"], "AccessDenied", "{v}");
    // Another client still has its budget.
    let resp = status_from(&other, made_up_netid_id()).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(h.netid.count("netid.get_login_status"), 4);
    assert!(
        h.metrics()
            .await
            .contains(r#"idbridge_throttled_total{face="netid_rest",reason="lookup_address"} 1"#)
    );
}

#[tokio::test]
async fn a_backend_with_all_its_calls_in_flight_answers_503_at_once() {
    let h = common::builder()
        .set("backends.enos.max_concurrent_calls", "1")
        .start()
        .await;
    h.enos.faults().set_stall(true);
    let first = {
        let (http, url) = (h.http.clone(), h.url("/enos-iam-service/v2.0/session/info"));
        tokio::spawn(async move {
            http.post(url)
                .header("Authorization", format!("Bearer IAM_S_{}", "A".repeat(64)))
                .send()
                .await
        })
    };
    crate::intercept_failure::until("the first call to reach the backend", || {
        h.enos.count("enos.session_info") == 1
    })
    .await;
    let (status, v) = h
        .enos_info(&format!("Bearer IAM_S_{}", "B".repeat(64)))
        .await;
    assert_eq!(status, 503, "{v}");
    assert_eq!(v["success"], false, "{v}");
    assert_eq!(
        h.enos.count("enos.session_info"),
        1,
        "refused without a call"
    );
    h.enos.faults().set_stall(false);
    first.await.unwrap().unwrap();
}
