//! The default serving threads: Pingora's no-steal runtime, each thread keeping the connections it
//! accepted, made once per process (`server.threads`, `server.work_stealing = false`). The rest of
//! this binary runs gateways on the test's own runtime (see `common`); this is the scenario that
//! runs the default, every face over many connections at once.

use serde_json::json;

use crate::common::{self, xml_text};

/// Names of this process's threads.
fn thread_names() -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .map(|n| n.trim().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_threads_serve_every_face() {
    let h = common::builder()
        .set("server.work_stealing", "false")
        .start()
        .await;
    assert!(
        thread_names().iter().any(|n| n == "idbridge-proxy"),
        "no proxy thread in {:?}",
        thread_names()
    );

    // Many calls at once, each on its own connection, so the connections land on every thread.
    let enos = h.enos_login().await;
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..64 {
        let (http, url, auth) = (
            reqwest::Client::new(),
            h.url("/enos-iam-service/v2.0/session/info"),
            format!("Bearer {enos}"),
        );
        calls.spawn(async move {
            let resp = http
                .post(url)
                .header("Authorization", auth)
                .json(&json!({}))
                .send()
                .await
                .unwrap();
            (resp.status().as_u16(), resp.text().await.unwrap())
        });
    }
    while let Some(done) = calls.join_next().await {
        let (status, body) = done.unwrap();
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("\"success\":true"), "{body}");
    }
    // The first lookup completes the session at EnOS; every other call shares or reads it.
    assert_eq!(h.enos.count("enos.session_info"), 1);

    let netid = h.netid_login().await;
    let (status, v) = h.netid_status(&netid, 3).await;
    assert_eq!(
        (status, &v["Status"]["Code"]),
        (200, &json!("Success")),
        "{v}"
    );
    let (status, xml) = h
        .soap(
            "GetLoginStatus",
            &format!("<SessionId>{netid}</SessionId><Count>4</Count>"),
        )
        .await;
    assert_eq!(status, 200, "{xml}");
    assert_eq!(
        xml_text(&xml, "IsLoggedIn").as_deref(),
        Some("True"),
        "{xml}"
    );
    let (status, v) = h.unified_session(&enos).await;
    assert_eq!(status, 200, "{v}");

    // Pass-through, on a pooled upstream connection the second time.
    for _ in 0..2 {
        let (status, v) = h.enos_org_info(&enos).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["organization"]["id"], common::DEMO_ORG, "{v}");
    }

    let (status, v) = h.enos_logout(&format!("Bearer {enos}")).await;
    assert_eq!((status, &v["success"]), (200, &json!(true)), "{v}");
    let (status, v) = h.enos_info(&format!("Bearer {enos}")).await;
    assert_eq!((status, v["status"].as_i64()), (200, Some(30401)), "{v}");
}
