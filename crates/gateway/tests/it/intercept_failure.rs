//! Limits, hostile input, backends that are down, coalescing, and the logout race.

use crate::common;

use std::time::Duration;

use serde_json::json;

/// Waits for a condition the test cannot be notified of (a simulator counter), with a deadline.
pub async fn until(what: &str, mut cond: impl FnMut() -> bool) {
    until_async(what, || std::future::ready(cond())).await
}

/// [`until`] for a condition that has to be awaited.
async fn until_async<F: std::future::Future<Output = bool>>(
    what: &str,
    mut cond: impl FnMut() -> F,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !cond().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

#[tokio::test]
async fn oversize_bodies_get_413_in_each_protocol() {
    let h = common::start().await;
    let big = "x".repeat(70 * 1024);
    let (status, v) = h
        .post_json(
            &h.gw.base_url(),
            "/enos-iam-service/v2.0/login",
            None,
            json!({"principal": big}),
        )
        .await;
    assert_eq!(status, 413);
    assert_eq!(v["success"], false, "{v}");
    let (status, v) = h
        .post_json(
            &h.gw.base_url(),
            "/api/login/status/get",
            None,
            json!({"SessionId": big}),
        )
        .await;
    assert_eq!(status, 413);
    assert_eq!(v["Status"]["Code"], "InvalidInput", "{v}");
    let (status, xml) = h
        .soap("GetLoginStatus", &format!("<SessionId>{big}</SessionId>"))
        .await;
    assert_eq!(status, 413);
    assert!(xml.contains("Fault"), "{xml}");
    assert_eq!(
        h.enos.count("enos.login") + h.netid.count("netid.get_login_status"),
        0
    );
}

#[tokio::test]
async fn hostile_soap_gets_a_fault_and_never_reaches_the_backend() {
    let h = common::start().await;
    let laughs = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetLoginStatus xmlns="http://www.pointsharp.com/netid/server/portal"><Info><SessionId>&lol2;</SessionId><Count>1</Count></Info></GetLoginStatus></s:Body></s:Envelope>"#;
    let deep = format!("{}{}", "<a>".repeat(1000), "</a>".repeat(1000));
    for body in [
        laughs.to_owned(),
        deep,
        "<s:Envelope".to_owned(),
        "not xml at all".to_owned(),
    ] {
        let (status, xml) = h
            .soap_raw(&common::soap_action("GetLoginStatus"), body)
            .await;
        assert_eq!(status, 500, "{xml}");
        assert!(xml.contains("<faultcode>s:Client</faultcode>"), "{xml}");
    }
    let (status, v) = h
        .post_json(
            &h.gw.base_url(),
            "/api/login/status/get",
            None,
            json!({"SessionId": 5, "Count": "x"}),
        )
        .await;
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["Status"]["Code"], "InvalidInput");
    assert_eq!(h.netid.count("netid.get_login_status"), 0);
    // And the gateway keeps serving.
    let id = h.netid_login().await;
    assert_eq!(h.netid_status(&id, 1).await.1["Status"]["Code"], "Success");
}

#[tokio::test]
async fn a_failing_backend_is_502_503_or_429_never_a_logout() {
    let h = common::start().await;
    let id = h.enos_login_direct().await;
    h.enos.faults().fail_next(1, 503);
    let (status, v) = h.enos_info(&format!("Bearer {id}")).await;
    assert_eq!(status, 503, "{v}");
    assert_ne!(v["status"], 30401);
    assert_ne!(v["status"], 30404);
    h.enos.faults().fail_next(1, 500);
    assert_eq!(h.enos_info(&format!("Bearer {id}")).await.0, 502);
    h.enos.faults().fail_next(1, 429);
    assert_eq!(h.enos_info(&format!("Bearer {id}")).await.0, 429);
    // Errors were not cached: the next call fetches and succeeds.
    let (status, v) = h.enos_info(&format!("Bearer {id}")).await;
    assert_eq!((status, &v["success"]), (200, &json!(true)), "{v}");
}

#[tokio::test]
async fn a_slow_backend_times_out_with_504() {
    let h = common::start_with(|c| {
        c.backend_mut("netid").unwrap().timeouts.call = Duration::from_millis(200)
    })
    .await;
    let id = h.netid_login_at(&h.netid.base_url()).await;
    h.netid.faults().set_stall(true);
    let (status, v) = h.netid_status(&id, 1).await;
    h.netid.faults().set_stall(false);
    assert_eq!(status, 504, "{v}");
    assert_eq!(v["Status"]["Code"], "InternalError");
}

#[tokio::test]
async fn cached_sessions_outlive_their_backends() {
    let h = common::start().await;
    let enos_id = h.enos_login().await;
    let netid_id = h.netid_login().await;
    let unknown = h.enos_login_direct().await;
    let h = h.with_backends_stopped(true, true).await;
    // The gateway still points at the stopped simulators.
    let (status, v) = h.enos_info(&format!("Bearer {enos_id}")).await;
    assert_eq!((status, &v["success"]), (200, &json!(true)), "{v}");
    let (status, v) = h.netid_status(&netid_id, 1).await;
    assert_eq!((status, v["Name"].as_str()), (200, Some("John Doe")), "{v}");
    let (status, _) = h.enos_info(&format!("Bearer {unknown}")).await;
    assert!(
        status == 502 || status == 503,
        "uncached lookups fail as unavailable, got {status}"
    );
}

#[tokio::test]
async fn concurrent_misses_make_one_upstream_call() {
    let h = common::start().await;
    let id = h.enos_login_direct().await;
    h.enos.faults().set_delay(Duration::from_millis(100));
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let (http, url, auth) = (
            h.http.clone(),
            h.url("/enos-iam-service/v2.0/session/info"),
            format!("Bearer {id}"),
        );
        calls.spawn(async move {
            let resp = http
                .post(url)
                .header("Authorization", auth)
                .send()
                .await
                .unwrap();
            (
                resp.status().as_u16(),
                resp.json::<serde_json::Value>().await.unwrap(),
            )
        });
    }
    while let Some(done) = calls.join_next().await {
        let (status, v) = done.unwrap();
        assert_eq!((status, &v["success"]), (200, &json!(true)), "{v}");
    }
    assert_eq!(h.enos.count("enos.session_info"), 1);
}

#[tokio::test]
async fn a_status_fetch_in_flight_cannot_resurrect_a_logged_out_session() {
    let h = common::start().await;
    let id = h.enos_login_direct().await;
    let auth = format!("Bearer {id}");
    h.enos.faults().set_stall(true);

    let base = h.gw.base_url();
    let (http, a) = (h.http.clone(), auth.clone());
    let status = tokio::spawn(async move {
        http.post(format!("{base}/enos-iam-service/v2.0/session/info"))
            .header("Authorization", a)
            .send()
            .await
    });
    until("the status fetch to reach the backend", || {
        h.enos.count("enos.session_info") == 1
    })
    .await;

    let (http, a, base) = (h.http.clone(), auth.clone(), h.gw.base_url());
    let logout = tokio::spawn(async move {
        http.post(format!("{base}/enos-iam-service/v2.0/logout"))
            .header("Authorization", a)
            .send()
            .await
    });
    let runtime = h.gw.runtime();
    until_async("the gateway to drop the session", || {
        runtime.store.is_revoked(&id)
    })
    .await;
    h.enos.faults().set_stall(false);
    status.await.unwrap().unwrap();
    assert_eq!(logout.await.unwrap().unwrap().status(), 200);

    let (code, v) = h.enos_info(&auth).await;
    assert_eq!((code, v["status"].as_i64()), (200, Some(30401)), "{v}");
    assert_eq!(
        h.enos.count("enos.session_info"),
        1,
        "answered locally, not resurrected"
    );
}

#[tokio::test]
async fn past_max_stale_an_unconfirmable_session_is_503_on_every_face_never_401() {
    // Every lookup revalidates, and nothing is served unconfirmed: max_stale 0 puts every
    // cached session past it at once, with no waiting.
    let h = common::builder()
        .set("cache.revalidate_after", "0s")
        .set("cache.max_stale", "0s")
        .start()
        .await;
    let enos = h.enos_login().await;
    let netid = h.netid_login().await;
    let bearer = format!("Bearer {enos}");
    h.enos.faults().fail_next(3, 503);
    h.netid.faults().fail_next(1, 503);

    let (status, v) = h.enos_info(&bearer).await;
    assert_eq!(status, 503, "EnOS face: {v}");
    assert_eq!(v["success"], false, "{v}");
    let resp = h
        .http
        .get(h.url("/idbridge/v1/session"))
        .header("Authorization", &bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 503, "unified face");
    let v: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["code"], "backend_unavailable", "{v}");
    let resp = h
        .http
        .get(h.url("/idbridge/v1/auth"))
        .header("Authorization", &bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 503, "forward-auth");
    let (status, v) = h.netid_status(&netid, 1).await;
    assert_eq!(status, 503, "Net iD face: {v}");
    assert_eq!(v["Status"]["Code"], "InternalError", "{v}");

    // The backend is back: the session is confirmed and answered again.
    let (status, v) = h.enos_info(&bearer).await;
    assert_eq!((status, &v["success"]), (200, &json!(true)), "{v}");
    let (status, v) = h.netid_status(&netid, 2).await;
    assert_eq!((status, &v["IsLoggedIn"]), (200, &json!("True")), "{v}");
}

#[tokio::test]
async fn within_max_stale_a_down_backend_logs_nobody_out() {
    let h = common::builder()
        .set("cache.revalidate_after", "0s")
        .start()
        .await;
    let enos = h.enos_login().await;
    let asked = h.enos.count("enos.session_info");
    h.enos.faults().fail_next(1, 503);
    let (status, v) = h.enos_info(&format!("Bearer {enos}")).await;
    assert_eq!((status, &v["success"]), (200, &json!(true)), "{v}");
    assert_eq!(
        h.enos.count("enos.session_info"),
        asked + 1,
        "it did ask the backend"
    );
}
