//! Fault injection (from Rust and over HTTP), the request counters, and shutdown.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::*;

async fn get_object(sim: &idbridge_sim::Simulator) -> reqwest::Response {
    client()
        .post(format!("{}/api/object/get", sim.base_url()))
        .body(r#"{"Type": "ApplicationInfo"}"#)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_delay_still_answers() {
    let sim = netid(&opts()).await;
    sim.faults().set_delay(Duration::from_millis(20));
    let resp = get_object(&sim).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(sim.faults().settings().delay_ms, 20);
}

#[tokio::test]
async fn fail_next_answers_that_many_failures_then_recovers() {
    let sim = enos(&opts()).await;
    sim.faults().fail_next(2, 503);
    for _ in 0..2 {
        let resp = client()
            .post(enos_url(&sim, "login"))
            .json(&login_body("portal_test01", DEMO_PASSWORD))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 503);
    }
    enos_login_ok(&sim, login_body("portal_test01", DEMO_PASSWORD)).await;
    // Injected failures are counted like any request.
    assert_eq!(sim.count("enos.login"), 3);
    assert_eq!(sim.faults().settings().fail_next, 0);
}

#[tokio::test]
async fn stall_holds_requests_until_cleared() {
    let sim = netid(&opts()).await;
    sim.faults().set_stall(true);
    let err = client()
        .post(format!("{}/api/object/get", sim.base_url()))
        .body(r#"{"Type": "ApplicationInfo"}"#)
        .timeout(Duration::from_millis(300))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");
    // The held request reached the simulator: it was counted.
    assert_eq!(sim.count("netid.get_object"), 1);

    // A request sent while stalled is released by clearing the stall (bounded so a broken wake-up
    // fails the test instead of hanging it).
    let url = format!("{}/api/object/get", sim.base_url());
    let held = tokio::spawn(async move {
        client()
            .post(url)
            .body(r#"{"Type": "ApplicationInfo"}"#)
            .send()
            .await
            .unwrap()
            .status()
    });
    sim.faults().set_stall(false);
    let status = tokio::time::timeout(Duration::from_secs(10), held)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status, 200);
    assert_eq!(get_object(&sim).await.status(), 200);
}

#[tokio::test]
async fn faults_over_http() {
    let sim = netid(&opts()).await;
    let url = format!("{}/__sim/faults", sim.base_url());
    let post = |body: &'static str| {
        let url = url.clone();
        async move {
            let resp = client().post(url).body(body).send().await.unwrap();
            (resp.status().as_u16(), resp.json::<Value>().await.unwrap())
        }
    };

    let (status, settings) = post(r#"{"fail_next": 1, "fail_status": 502, "delay_ms": 5}"#).await;
    assert_eq!(status, 200);
    assert_eq!(
        settings,
        json!({"delay_ms": 5, "fail_next": 1, "fail_status": 502, "stall": false})
    );
    // `{}` changes nothing; bad bodies change nothing and say why.
    assert_eq!(post("{}").await, (200, settings.clone()));
    for bad in [r#"{"bogus": 1}"#, r#"{"fail_status": 200}"#, "nope"] {
        let (status, body) = post(bad).await;
        assert_eq!(status, 400, "{bad}");
        assert!(body["error"].is_string());
    }
    assert_eq!(sim.faults().settings().fail_next, 1);

    // Control routes are never faulted (nor counted); simulated routes are.
    let stats = client()
        .get(format!("{}/__sim/stats", sim.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(stats.status(), 200);
    assert_eq!(get_object(&sim).await.status(), 502);
    assert_eq!(get_object(&sim).await.status(), 200);

    // A stall set over HTTP is cleared by DELETE.
    post(r#"{"stall": true}"#).await;
    assert!(sim.faults().settings().stall);
    let resp = client().delete(&url).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.json::<Value>().await.unwrap(),
        json!({"delay_ms": 0, "fail_next": 0, "fail_status": 503, "stall": false})
    );
    assert_eq!(get_object(&sim).await.status(), 200);
    let resp = client().get(&url).send().await.unwrap();
    assert_eq!(resp.json::<Value>().await.unwrap()["stall"], false);
}

#[tokio::test]
async fn stats_over_http_match_stats_in_process() {
    let opts = opts();
    let netid = netid(&opts).await;
    rest_login_john(&netid).await;
    soap(&netid, "GetObject", "<Type>ApplicationInfo</Type>").await;
    client()
        .get(format!("{}/nowhere", netid.base_url()))
        .send()
        .await
        .unwrap();

    let over_http: BTreeMap<String, u64> = client()
        .get(format!("{}/__sim/stats", netid.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(over_http, netid.stats());
    let expected: BTreeMap<String, u64> = [
        // Both login steps are Login calls.
        ("netid.login", 2),
        ("netid.get_login_status", 0),
        ("netid.logout", 0),
        ("netid.get_object", 1),
        ("netid.wsdl", 0),
        ("netid.other", 1),
        ("netid.soap", 1),
        ("netid.rest", 2),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(netid.stats(), expected);

    let enos = enos(&opts).await;
    enos_login_ok(&enos, login_body("portal_test01", DEMO_PASSWORD)).await;
    let over_http: BTreeMap<String, u64> = client()
        .get(format!("{}/__sim/stats", enos.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(over_http, enos.stats());
    assert_eq!(over_http.get("enos.login"), Some(&1));
    assert_eq!(over_http.len(), 5);
}

#[tokio::test]
async fn shutdown_releases_stalled_requests_and_stops_listening() {
    let sim = netid(&opts()).await;
    let base = sim.base_url();
    sim.faults().set_stall(true);
    let url = format!("{base}/api/object/get");
    let held = tokio::spawn(async move {
        client()
            .post(url)
            .body(r#"{"Type": "ApplicationInfo"}"#)
            .send()
            .await
    });
    // Wait (bounded) until the simulator has the request, so shutdown really has one in flight.
    tokio::time::timeout(Duration::from_secs(10), async {
        while sim.count("netid.get_object") == 0 {
            tokio::task::yield_now().await;
        }
    })
    .await
    .unwrap();
    tokio::time::timeout(Duration::from_secs(10), sim.shutdown())
        .await
        .unwrap();
    let answered = held.await.unwrap().unwrap();
    assert_eq!(answered.status(), 200);
    assert!(
        client()
            .get(format!("{base}/__sim/stats"))
            .send()
            .await
            .is_err()
    );
}
